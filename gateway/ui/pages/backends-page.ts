import { readStatus, type BackendStatusJson } from '../../admin/status-route.js';
import { formatBytes, html, query, type Html } from '../html.js';
import { actionButton, page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';
import { jobProgress, stateBadge } from './job-progress.js';

/** A bar for `used` of `limit` (`<meter>`: no inline style, which the CSP forbids); no limit → figures only. */
function bar(kind: string, used: number, limit: number, label: string): Html {
  const figures = limit > 0 ? `${formatBytes(used)} of ${formatBytes(limit)}` : `${formatBytes(used)} (no limit)`;
  return html`<div class="bar bar-${kind}"><span class="bar-label">${label}</span>
${limit > 0 ? html`<meter min="0" max="${limit}" low="${limit * 0.7}" high="${limit * 0.9}" optimum="0" value="${Math.min(used, limit)}"></meter>` : ''}
<span class="figures">${figures}</span></div>`;
}

function usageLine(label: string, used: number, limit: number, bytes: boolean): Html {
  const f = (n: number) => (bytes ? formatBytes(n) : String(n));
  return html`<li>${label}: ${f(used)}${limit > 0 ? ` of ${f(limit)}` : ''}</li>`;
}

function backendCard(ctx: UiContext, session: UiSession, b: BackendStatusJson, drainJob: Html | ''): Html {
  const breaker = b.circuit_breaker ?? 'not configured';
  const actions: Html[] = [];
  if (b.state === 'active' && b.configured) {
    actions.push(actionButton(ctx, session, 'drain', 'Drain', { backend: b.name }, { confirm: `Drain ${b.name}? Its objects move to other backends and it stops taking writes.`, danger: true }));
  }
  if (b.state === 'draining') actions.push(actionButton(ctx, session, 'drain-cancel', 'Cancel drain', { backend: b.name }));
  return html`<section class="card backend" data-backend="${b.name}">
<h2>${b.name} <span data-backend-state="${b.name}">${stateBadge(b.state)}</span>
<span class="badge breaker breaker-${breaker.replace(/[^a-z-]/g, '')}" title="circuit breaker">breaker ${breaker}</span>
${b.configured ? '' : html`<span class="badge badge-unconfigured">not configured</span>`}</h2>
<p class="endpoint">${b.endpoint ?? ''}</p>
${bar('quota', b.bytes_used, b.bytes_limit, 'Used')}
${bar('orphan', b.orphan_bytes, b.bytes_limit, 'Orphans')}
<p>${b.object_count} copies stored${b.pending_bytes > 0 ? ` · ${formatBytes(b.pending_bytes)} in pending uploads` : ''}</p>
<ul class="usage">${usageLine('API requests', b.api_requests, b.api_request_limit, false)}${usageLine('Egress', b.egress_bytes, b.egress_byte_limit, true)}${usageLine('Ingress', b.ingress_bytes, b.ingress_byte_limit, true)}</ul>
${drainJob}
${b.note ? html`<p class="note">${b.note}</p>` : ''}
<div class="actions">${actions}</div></section>`;
}

/** Backends: state, breaker, quota and orphan bars, monthly usage, a running drain's progress; the cluster-wide actions. */
export async function backendsPage(ctx: UiContext, session: UiSession, flash?: Flash): Promise<string> {
  const status = await readStatus(ctx.admin.status);
  const running = new Map(status.running_jobs.map((j) => [j.job_id, j]));
  const cards = status.backends.map((b) => {
    const job = b.drain_job_id ? running.get(b.drain_job_id) : undefined;
    return backendCard(ctx, session, b, job ? html`<div class="drain">Drain ${jobProgress(job)}</div>` : '');
  });
  const body = html`${status.db_healthy ? '' : html`<p class="flash flash-error">The metadata database is unreachable: figures are missing.</p>`}
<p>Monthly usage period ${status.usage_period}.</p>
<div class="actions cluster">
${actionButton(ctx, session, 'rebalance', 'Rebalance', {}, { confirm: 'Plan a rebalance and start it as a job?' })}
${actionButton(ctx, session, 'clean-excess', 'Clean excess copies', {}, { confirm: 'Remove copies beyond the replication factor now?' })}
${actionButton(ctx, session, 'replicate', 'Replicate now', {})}
</div>
<div class="cards">${cards}</div>
<h2>Buckets</h2>
<table><thead><tr><th>Bucket</th><th>Objects</th><th>Size</th></tr></thead><tbody>
${status.buckets.map((b) => html`<tr><td><a href="${uiUrl(ctx, '/objects')}${query({ bucket: b.name })}">${b.name}</a></td><td>${b.object_count}</td><td>${formatBytes(b.total_bytes)}</td></tr>`)}
</tbody></table>`;
  return page(ctx, session, 'backends', 'Backends', body, flash);
}
