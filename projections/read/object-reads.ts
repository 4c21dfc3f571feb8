import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import type { Checksum, ObjectHeaders, PartLayout, StoredCopy } from '../../domain/events/common.js';
import { objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

interface ObjectRow {
  revision: string | null;
  write_id: string | null;
  size: string;
  etag: string;
  content_type: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  checksum: Checksum | null;
  content_sha256: string | null;
  parts: PartLayout[] | null;
  last_modified: Date;
  copies: StoredCopy[] | null;
  corrupt: string[] | null;
  encryption: EncryptionEnvelope | null;
}

/**
 * Loads an object's current version, its copies and its stream revision in one primary-key
 * read. The revision is the compare-and-swap token for the next change to the object. The
 * inline projection writes the row in the transaction that appends the event, so one statement
 * reads the row and the revision from one snapshot: the row is the object's state folded with
 * `evolveObject` up to that revision (a snapshot of the fold, no stream read needed). Copies
 * and corrupt backends come in the fold's canonical order (by backend name).
 */
export async function loadObject(db: Queryable, bucket: string, key: string): Promise<ObjectState> {
  const res = await db.query<ObjectRow>({
    name: 's3o-load-object',
    text: `SELECT s.revision, o.write_id, o.size, o.etag, o.content_type, o.metadata, o.headers, o.checksum, o.parts,
            o.last_modified, o.content_sha256, o.encryption, cc.copies, cc.corrupt
       FROM (SELECT 1) one
       LEFT JOIN streams s ON s.stream_id = $1
       LEFT JOIN objects o ON o.bucket = $2 AND o.key = $3
       LEFT JOIN LATERAL (
         SELECT json_agg(json_build_object('backend', c.backend, 'storageKey', c.storage_key, 'size', c.size)
                         ORDER BY c.backend COLLATE "C") AS copies,
                array_agg(c.backend ORDER BY c.backend COLLATE "C") FILTER (WHERE c.corrupt_since IS NOT NULL) AS corrupt
           FROM object_copies c WHERE c.bucket = $2 AND c.key = $3) cc ON true`,
    values: [objectStreamId(bucket, key), bucket, key],
  });
  return objectStateOf(bucket, key, res.rows[0]);
}

/**
 * `loadObject` for many keys in one statement (one snapshot): each key's state as its own
 * `loadObject` would read it, in the order asked.
 */
export async function loadObjects(db: Queryable, keys: readonly { bucket: string; key: string }[]): Promise<ObjectState[]> {
  const res = await db.query<ObjectRow & { n: string }>({
    name: 's3o-load-objects',
    text: `SELECT k.n, s.revision, o.write_id, o.size, o.etag, o.content_type, o.metadata, o.headers, o.checksum, o.parts,
            o.last_modified, o.content_sha256, o.encryption, cc.copies, cc.corrupt
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(stream_id, bucket, key, n)
       LEFT JOIN streams s ON s.stream_id = k.stream_id
       LEFT JOIN objects o ON o.bucket = k.bucket AND o.key = k.key
       LEFT JOIN LATERAL (
         SELECT json_agg(json_build_object('backend', c.backend, 'storageKey', c.storage_key, 'size', c.size)
                         ORDER BY c.backend COLLATE "C") AS copies,
                array_agg(c.backend ORDER BY c.backend COLLATE "C") FILTER (WHERE c.corrupt_since IS NOT NULL) AS corrupt
           FROM object_copies c WHERE c.bucket = k.bucket AND c.key = k.key) cc ON true`,
    values: [keys.map((k) => objectStreamId(k.bucket, k.key)), keys.map((k) => k.bucket), keys.map((k) => k.key)],
  });
  const rows = new Map(res.rows.map((r) => [Number(r.n), r]));
  return keys.map((k, i) => objectStateOf(k.bucket, k.key, rows.get(i + 1)));
}

function objectStateOf(bucket: string, key: string, r: ObjectRow | undefined): ObjectState {
  const revision = r?.revision == null ? 'no_stream' : BigInt(r.revision);
  if (!r || r.write_id === null) return { bucket, key, revision, current: undefined };
  return {
    bucket,
    key,
    revision,
    current: {
      writeId: r.write_id,
      size: Number(r.size),
      etag: r.etag,
      contentType: r.content_type,
      metadata: r.metadata,
      headers: r.headers,
      checksum: r.checksum,
      contentSha256: r.content_sha256,
      parts: r.parts,
      lastModified: r.last_modified.toISOString(),
      copies: r.copies ?? [],
      encryption: r.encryption,
      ...(r.corrupt ? { corrupt: r.corrupt } : {}),
    },
  };
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
  storageClass: string;
}

/** One page of a bucket's keys in byte order, from `seek` (inclusive or not) up to `upperBound`. */
export async function listObjectPage(
  db: Queryable,
  bucket: string,
  opts: { seek: { key: string; inclusive: boolean }; upperBound: string | undefined; limit: number },
): Promise<ListedObject[]> {
  const params: unknown[] = [bucket, opts.seek.key, opts.limit];
  let bound = '';
  if (opts.upperBound !== undefined) {
    params.push(opts.upperBound);
    bound = ' AND key < $4';
  }
  const res = await db.query<{ key: string; size: string; etag: string; last_modified: Date }>(
    `SELECT key, size, etag, last_modified FROM objects
      WHERE bucket = $1 AND key ${opts.seek.inclusive ? '>=' : '>'} $2${bound}
      ORDER BY key LIMIT $3`,
    params,
  );
  return res.rows.map((r) => ({ key: r.key, size: Number(r.size), etag: r.etag, lastModifiedMs: r.last_modified.getTime(), storageClass: 'STANDARD' }));
}
