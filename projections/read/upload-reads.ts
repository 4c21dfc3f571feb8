import type { Checksum, ObjectHeaders } from '../../domain/events/common.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

export interface UploadRow {
  uploadId: string;
  bucket: string;
  key: string;
  backend: string;
  backendUploadId: string;
  storageKey: string;
  writeId: string;
  contentType: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  initiatedAt: Date;
}

export interface PartRow {
  partNumber: number;
  size: number;
  etag: string;
  backendEtag: string;
  checksum: Checksum | null;
  uploadedAt: Date;
}

interface RawUpload {
  upload_id: string; bucket: string; key: string; backend: string; backend_upload_id: string; storage_key: string;
  write_id: string; content_type: string; metadata: Record<string, string>; headers: ObjectHeaders; initiated_at: Date;
}

const toUpload = (r: RawUpload): UploadRow => ({
  uploadId: r.upload_id, bucket: r.bucket, key: r.key, backend: r.backend, backendUploadId: r.backend_upload_id,
  storageKey: r.storage_key, writeId: r.write_id, contentType: r.content_type, metadata: r.metadata, headers: r.headers,
  initiatedAt: r.initiated_at,
});

export async function loadUpload(db: Queryable, uploadId: string): Promise<UploadRow | undefined> {
  const res = await db.query<RawUpload>('SELECT * FROM multipart_uploads WHERE upload_id = $1', [uploadId]);
  return res.rows[0] ? toUpload(res.rows[0]) : undefined;
}

export async function loadParts(db: Queryable, uploadId: string, opts: { after?: number; limit?: number } = {}): Promise<PartRow[]> {
  const res = await db.query<{ part_number: number; size: string; etag: string; backend_etag: string; checksum: Checksum | null; uploaded_at: Date }>(
    'SELECT part_number, size, etag, backend_etag, checksum, uploaded_at FROM multipart_parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3',
    [uploadId, opts.after ?? 0, opts.limit ?? 10_000],
  );
  return res.rows.map((r) => ({ partNumber: r.part_number, size: Number(r.size), etag: r.etag, backendEtag: r.backend_etag, checksum: r.checksum, uploadedAt: r.uploaded_at }));
}

/** Uploads of a bucket in (key, upload id) order after the markers, within a prefix. */
export async function listUploads(
  db: Queryable,
  bucket: string,
  opts: { prefix: string; keyMarker: string; uploadIdMarker: string; limit: number },
): Promise<UploadRow[]> {
  const res = await db.query<RawUpload>(
    `SELECT * FROM multipart_uploads
      WHERE bucket = $1 AND starts_with(key, $2)
        AND (key > $3 OR (key = $3 AND $4 <> '' AND upload_id > $4))
      ORDER BY key, upload_id LIMIT $5`,
    [bucket, opts.prefix, opts.keyMarker, opts.uploadIdMarker, opts.limit],
  );
  return res.rows.map(toUpload);
}

export async function countUploads(db: Queryable, bucket: string): Promise<number> {
  const res = await db.query<{ n: string }>('SELECT count(*) AS n FROM multipart_uploads WHERE bucket = $1', [bucket]);
  return Number(res.rows[0]?.n ?? 0);
}

export async function uploadsOnBackend(db: Queryable, backend: string): Promise<UploadRow[]> {
  const res = await db.query<RawUpload>('SELECT * FROM multipart_uploads WHERE backend = $1 ORDER BY initiated_at', [backend]);
  return res.rows.map(toUpload);
}

/**
 * Uploads initiated before `olderThan`, in upload id order after `afterUploadId` (the last
 * upload of the previous page: keyset pagination, so uploads that cannot be closed do not fill
 * every page).
 */
export async function staleUploads(db: Queryable, olderThan: Date, limit: number, afterUploadId = ''): Promise<UploadRow[]> {
  const res = await db.query<RawUpload>(
    'SELECT * FROM multipart_uploads WHERE initiated_at < $1 AND upload_id > $2 ORDER BY upload_id LIMIT $3',
    [olderThan, afterUploadId, limit],
  );
  return res.rows.map(toUpload);
}
