import { z } from 'zod';
import { parseInput } from '../../admin/admin-input.js';
import { readObjectHistory, readObjectLocations, type HistoryEntryJson } from '../../admin/object-routes.js';
import { formatBytes, html, query, type Html } from '../html.js';
import { actionButton, page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';

export const ObjectParams = z.object({
  bucket: z.string({ error: 'is required' }).min(1, 'must not be empty'),
  key: z.string({ error: 'is required' }).min(1, 'must not be empty'),
});

/** The job an event was part of, when its data names one. */
function jobOf(e: HistoryEntryJson): string | undefined {
  const data = e.data as Record<string, unknown> | null;
  return data && typeof data.jobId === 'string' ? data.jobId : undefined;
}

function timelineItem(ctx: UiContext, e: HistoryEntryJson): Html {
  const job = jobOf(e);
  return html`<li class="event event-${e.type}">
<time>${e.at}</time> <span class="type">${e.type}</span>
<p class="summary">${e.summary}</p>
<p class="who">by <strong>${e.actor ?? 'unknown'}</strong>${e.correlation_id ? html` · request <code>${e.correlation_id}</code>` : ''}${job ? html` · job <a href="${uiUrl(ctx, '/jobs')}"><code>${job}</code></a>` : ''} · revision ${e.revision}</p>
<details><summary>Event data</summary><pre>${JSON.stringify(e.data, null, 2)}</pre></details></li>`;
}

/** One object: where its copies are, and its whole history (oldest first) from its event stream. */
export async function historyPage(ctx: UiContext, session: UiSession, q: unknown, flash?: Flash): Promise<string> {
  const { bucket, key } = parseInput(ObjectParams, q, 'query');
  const [history, where] = await Promise.all([
    readObjectHistory(ctx.admin.objects.log, bucket, key),
    readObjectLocations(ctx.admin.objects, { bucket, key }),
  ]);
  const v = where.version;
  const current = v
    ? html`<p>${formatBytes(v.size)} · ETag <code>${v.etag}</code> · ${v.content_type} · modified <time>${v.last_modified}</time></p>
<p>Copies: ${where.copies.map((c) => html`<span class="badge copy">${c.backend}</span> `)}</p>
<p><a href="${uiUrl(ctx, '/objects/download')}${query({ bucket, key })}" download>Download</a>
${actionButton(ctx, session, 'delete', 'Delete', { bucket, key, return_to: `${uiUrl(ctx, '/objects/history')}${query({ bucket, key })}` }, { confirm: `Delete ${bucket}/${key}?`, danger: true })}</p>`
    : html`<p>Deleted: no current version.</p>`;
  const body = html`<p class="crumbs"><a href="${uiUrl(ctx, '/objects')}${query({ bucket })}">${bucket}</a> / <span class="key">${key}</span></p>
${current}
<h2>History</h2>
${history.truncated ? html`<p class="note">The stream is long: its oldest ${history.events.length} events are shown.</p>` : ''}
<ol class="timeline">${history.events.map((e) => timelineItem(ctx, e))}</ol>`;
  return page(ctx, session, 'objects', `History of ${key}`, body, flash);
}
