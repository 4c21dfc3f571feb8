import { readStatus, type BackendStatusJson } from '../../admin/status-route.js';
import { formatBytes, html, query, type Html } from '../html.js';
import { actionButton, csrfField, page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';
import { jobProgress, stateBadge } from './job-progress.js';

/** The figures of a backend card, worded once so the page and `api/backends` (the live poll) agree. */
export interface BackendFigures {
  name: string;
  state: string;
  breaker: string;
  bytes_used: number;
  bytes_limit: number;
  orphan_bytes: number;
  used_text: string;
  orphan_text: string;
  copies_text: string;
  usage_text: string[];
}

function amount(used: number, limit: number): string {
  return limit > 0 ? `${formatBytes(used)} of ${formatBytes(limit)}` : `${formatBytes(used)} (no limit)`;
}

function usageText(label: string, used: number, limit: number, bytes: boolean): string {
  const f = (n: number) => (bytes ? formatBytes(n) : String(n));
  return `${label}: ${f(used)}${limit > 0 ? ` of ${f(limit)}` : ''}`;
}

export function backendFigures(b: BackendStatusJson): BackendFigures {
  return {
    name: b.name, state: b.state, breaker: b.circuit_breaker ?? 'not configured',
    bytes_used: b.bytes_used, bytes_limit: b.bytes_limit, orphan_bytes: b.orphan_bytes,
    used_text: amount(b.bytes_used, b.bytes_limit),
    orphan_text: amount(b.orphan_bytes, b.bytes_limit),
    copies_text: `${b.object_count} copies stored${b.pending_bytes > 0 ? ` · ${formatBytes(b.pending_bytes)} in pending uploads` : ''}`,
    usage_text: [
      usageText('API requests', b.api_requests, b.api_request_limit, false),
      usageText('Egress', b.egress_bytes, b.egress_byte_limit, true),
      usageText('Ingress', b.ingress_bytes, b.ingress_byte_limit, true),
    ],
  };
}

/**
 * A bar for `used` of `limit` (`<meter>`: no inline style, which the CSP forbids); no limit →
 * figures only. Marked with its kind: dashboard.js moves it in place.
 */
function bar(kind: string, used: number, limit: number, label: string, figures: string): Html {
  return html`<div class="bar bar-${kind}"><span class="bar-label">${label}</span>
${limit > 0 ? html`<meter data-backend-meter="${kind}" min="0" max="${limit}" low="${limit * 0.7}" high="${limit * 0.9}" optimum="0" value="${Math.min(used, limit)}"></meter>` : ''}
<span class="figures" data-backend-text="${kind}">${figures}</span></div>`;
}

function backendCard(ctx: UiContext, session: UiSession, b: BackendStatusJson, drainJob: Html | ''): Html {
  const f = backendFigures(b);
  const actions: Html[] = [];
  if (b.state === 'active' && b.configured) {
    actions.push(actionButton(ctx, session, 'drain', 'Drain', { backend: b.name }, { confirm: `Drain ${b.name}? Its objects move to other backends and it stops taking writes.`, danger: true }));
  }
  if (b.state === 'draining') actions.push(actionButton(ctx, session, 'drain-cancel', 'Cancel drain', { backend: b.name }));
  return html`<section class="card backend" data-backend="${b.name}">
<h2>${b.name} <span data-backend-state="${b.name}">${stateBadge(b.state)}</span>
<span data-backend-breaker>${breakerBadge(f.breaker)}</span>
${b.configured ? '' : html`<span class="badge badge-unconfigured">not configured</span>`}</h2>
<p class="endpoint">${b.endpoint ?? ''}</p>
${bar('quota', b.bytes_used, b.bytes_limit, 'Used', f.used_text)}
${bar('orphan', b.orphan_bytes, b.bytes_limit, 'Orphans', f.orphan_text)}
<p data-backend-text="copies">${f.copies_text}</p>
<ul class="usage">${f.usage_text.map((t, i) => html`<li data-backend-text="usage-${i}">${t}</li>`)}</ul>
${drainJob}
${b.note ? html`<p class="note">${b.note}</p>` : ''}
<div class="actions">${actions}</div></section>`;
}

function breakerBadge(breaker: string): Html {
  return html`<span class="badge breaker breaker-${breaker.replace(/[^a-z-]/g, '')}" title="circuit breaker">breaker ${breaker}</span>`;
}

/** `api/backends`: every backend's figures, for dashboard.js to move the bars and badges without a reload. */
export async function backendsJson(ctx: UiContext): Promise<{ db_healthy: boolean; backends: BackendFigures[] }> {
  const status = await readStatus(ctx.admin.status);
  return { db_healthy: status.db_healthy, backends: status.backends.map(backendFigures) };
}

/** Sync: import a backend's objects the log does not know into a bucket (as `s3o sync`). */
function syncForm(ctx: UiContext, session: UiSession, backends: readonly BackendStatusJson[]): Html {
  const active = backends.filter((b) => b.state === 'active' && b.configured);
  const buckets = ctx.admin.config().buckets.map((b) => b.name);
  if (active.length === 0 || buckets.length === 0) return html``;
  return html`<form class="inline sync" method="post" action="${uiUrl(ctx, '/actions/sync')}" data-confirm="Import the objects this backend holds that the orchestrator does not know?">
${csrfField(ctx, session)}
<label>Sync backend <select name="backend">${active.map((b) => html`<option>${b.name}</option>`)}</select></label>
<label>into bucket <select name="bucket">${buckets.map((b) => html`<option>${b}</option>`)}</select></label>
<label>key prefix <input name="prefix" size="12"></label>
<button type="submit">Sync</button></form>`;
}

/**
 * Backends: state, breaker, quota and orphan bars, monthly usage, a running drain's progress (all
 * kept current by dashboard.js while the page is open); the cluster-wide actions.
 */
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
${syncForm(ctx, session, status.backends)}
</div>
<div class="cards">${cards}</div>
<h2>Buckets</h2>
<table><thead><tr><th>Bucket</th><th>Objects</th><th>Size</th></tr></thead><tbody>
${status.buckets.map((b) => html`<tr><td><a href="${uiUrl(ctx, '/objects')}${query({ bucket: b.name })}">${b.name}</a></td><td>${b.object_count}</td><td>${formatBytes(b.total_bytes)}</td></tr>`)}
</tbody></table>`;
  return page(ctx, session, 'backends', 'Backends', body, flash);
}
