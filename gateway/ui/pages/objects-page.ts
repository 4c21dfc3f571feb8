import { z } from 'zod';
import { listTreeLevel, type TreeEntry } from '../../../projections/read/object-tree-reads.js';
import { readStatus } from '../../admin/status-route.js';
import { parseInput } from '../../admin/admin-input.js';
import { formatBytes, html, query, type Html } from '../html.js';
import { actionButton, csrfField, page } from '../layout.js';
import type { UiSession } from '../session.js';
import { uiUrl, type Flash, type UiContext } from '../ui-context.js';

export const treePageSize = 200;

const TreeQuery = z.object({
  bucket: z.string().min(1, 'must not be empty').max(63, 'is too long').optional(),
  prefix: z.string().max(1024, 'is too long').default(''),
  after: z.string().max(1024, 'is too long').optional(),
});

export function parseTreeQuery(q: unknown) {
  return parseInput(TreeQuery, q, 'query');
}

/** `api/tree`: one level below a prefix, for dashboard.js to expand a folder in place. */
export async function treeJson(ctx: UiContext, q: unknown) {
  const { bucket, prefix, after } = parseTreeQuery(q);
  if (!bucket) return { entries: [], next_after: null };
  const level = await listTreeLevel(ctx.s3.reads, bucket, prefix, { limit: treePageSize, ...(after ? { after } : {}) });
  return {
    entries: level.entries.map((e) => ({
      name: e.name, is_dir: e.isDir, file_count: e.fileCount, total_size: e.totalSize, size_text: formatBytes(e.totalSize), last_modified: e.lastModified,
      history_url: e.isDir ? null : `${uiUrl(ctx, '/objects/history')}${query({ bucket, key: prefix + e.name })}`,
      download_url: e.isDir ? null : `${uiUrl(ctx, '/objects/download')}${query({ bucket, key: prefix + e.name })}`,
    })),
    next_after: level.nextAfter ?? null,
  };
}

function entryRow(ctx: UiContext, session: UiSession, bucket: string, prefix: string, e: TreeEntry): Html {
  const key = prefix + e.name;
  if (e.isDir) {
    return html`<tr class="dir" data-prefix="${key}"><td><button type="button" class="expand" data-expand="${key}" data-bucket="${bucket}" aria-expanded="false">+</button>
<a href="${uiUrl(ctx, '/objects')}${query({ bucket, prefix: key })}">${e.name}</a></td>
<td>${e.fileCount} objects</td><td>${formatBytes(e.totalSize)}</td><td><time>${e.lastModified}</time></td><td></td></tr>`;
  }
  return html`<tr class="file"><td><a href="${uiUrl(ctx, '/objects/history')}${query({ bucket, key })}">${e.name}</a></td>
<td></td><td>${formatBytes(e.totalSize)}</td><td><time>${e.lastModified}</time></td>
<td class="actions"><a href="${uiUrl(ctx, '/objects/download')}${query({ bucket, key })}" download>Download</a>
${actionButton(ctx, session, 'delete', 'Delete', { bucket, key, return_to: `${uiUrl(ctx, '/objects')}${query({ bucket, prefix })}` }, { confirm: `Delete ${bucket}/${key}?`, danger: true })}</td></tr>`;
}

function breadcrumb(ctx: UiContext, bucket: string, prefix: string): Html {
  const parts = prefix.split('/').filter((p, i, all) => i < all.length - 1 || p !== '');
  let at = '';
  const crumbs = parts.map((p) => {
    at += `${p}/`;
    return html` / <a href="${uiUrl(ctx, '/objects')}${query({ bucket, prefix: at })}">${p}</a>`;
  });
  return html`<p class="crumbs"><a href="${uiUrl(ctx, '/objects')}">Buckets</a> / <a href="${uiUrl(ctx, '/objects')}${query({ bucket })}">${bucket}</a>${crumbs}</p>`;
}

function uploadForm(ctx: UiContext, session: UiSession, bucket: string, prefix: string): Html {
  // The CSRF field comes first: the upload is streamed, and the token is checked before any file byte is read.
  return html`<form class="upload" method="post" enctype="multipart/form-data" action="${uiUrl(ctx, '/actions/upload')}">
${csrfField(ctx, session)}<input type="hidden" name="bucket" value="${bucket}"><input type="hidden" name="prefix" value="${prefix}">
<label>Name <input name="name" placeholder="(the file's name)"></label>
<label>File <input type="file" name="file" required></label>
<button type="submit">Upload to ${bucket}/${prefix}</button></form>`;
}

/** Buckets, or one level of a bucket below a prefix, with rollups; paginated by key. */
export async function objectsPage(ctx: UiContext, session: UiSession, q: unknown, flash?: Flash): Promise<string> {
  const { bucket, prefix, after } = parseTreeQuery(q);
  if (!bucket) {
    const status = await readStatus(ctx.admin.status);
    const rows = status.buckets.map((b) => html`<tr><td><a href="${uiUrl(ctx, '/objects')}${query({ bucket: b.name })}">${b.name}</a></td><td>${b.object_count} objects</td><td>${formatBytes(b.total_bytes)}</td></tr>`);
    return page(ctx, session, 'objects', 'Objects', html`<table><thead><tr><th>Bucket</th><th>Objects</th><th>Size</th></tr></thead><tbody>${rows}</tbody></table>`, flash);
  }
  const level = await listTreeLevel(ctx.s3.reads, bucket, prefix, { limit: treePageSize, ...(after ? { after } : {}) });
  const rows = level.entries.map((e) => entryRow(ctx, session, bucket, prefix, e));
  const body = html`${breadcrumb(ctx, bucket, prefix)}
${uploadForm(ctx, session, bucket, prefix)}
<table class="tree"><thead><tr><th>Name</th><th>Contains</th><th>Size</th><th>Last modified</th><th></th></tr></thead>
<tbody>${rows.length > 0 ? rows : html`<tr><td colspan="5">Nothing here.</td></tr>`}</tbody></table>
${level.nextAfter ? html`<p><a class="next" href="${uiUrl(ctx, '/objects')}${query({ bucket, prefix, after: level.nextAfter })}">Next ${treePageSize} →</a></p>` : ''}`;
  return page(ctx, session, 'objects', `${bucket}/${prefix}`, body, flash);
}
