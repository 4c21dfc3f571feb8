import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** One copy of a current version, as the scrubber and the repair queue see it. */
export interface CopyRow {
  bucket: string;
  key: string;
  backend: string;
}

/** The object a stored copy of version `writeId` belongs to; undefined when no current version holds it. */
export async function copyOwner(db: Queryable, backend: string, storageKey: string, writeId: string): Promise<{ bucket: string; key: string } | undefined> {
  const res = await db.query<{ bucket: string; key: string }>(
    'SELECT bucket, key FROM object_copies WHERE backend = $1 AND storage_key = $2 AND write_id = $3 LIMIT 1', [backend, storageKey, writeId],
  );
  return res.rows[0];
}

/**
 * Copies of versions with a recorded SHA-256 that are not known corrupt, checked longest ago
 * (never-checked first, oldest written first among them).
 */
export async function copiesToScrub(db: Queryable, limit: number): Promise<CopyRow[]> {
  const res = await db.query<CopyRow>(
    `SELECT c.bucket, c.key, c.backend FROM object_copies c
       JOIN objects o ON o.bucket = c.bucket AND o.key = c.key
      WHERE o.content_sha256 IS NOT NULL AND c.corrupt_since IS NULL
      ORDER BY c.checked_at NULLS FIRST, c.created_at, c.bucket, c.key, c.backend
      LIMIT $1`,
    [limit],
  );
  return res.rows;
}

/** Copies found corrupt and not repaired yet: the repair queue, oldest first. */
export async function corruptCopies(db: Queryable, limit: number): Promise<(CopyRow & { corruptSince: Date; storageKey: string; size: number })[]> {
  const res = await db.query<CopyRow & { corrupt_since: Date; storage_key: string; size: string }>(
    `SELECT bucket, key, backend, storage_key, size, corrupt_since FROM object_copies
      WHERE corrupt_since IS NOT NULL ORDER BY corrupt_since, bucket, key, backend LIMIT $1`,
    [limit],
  );
  return res.rows.map((r) => ({ bucket: r.bucket, key: r.key, backend: r.backend, storageKey: r.storage_key, size: Number(r.size), corruptSince: r.corrupt_since }));
}

/** Current versions without a recorded SHA-256 (written before integrity was on), in key order after `after`. */
export async function objectsWithoutHash(db: Queryable, after: { bucket: string; key: string } | undefined, limit: number): Promise<{ bucket: string; key: string }[]> {
  const res = await db.query<{ bucket: string; key: string }>(
    `SELECT bucket, key FROM objects
      WHERE content_sha256 IS NULL AND ($1::text IS NULL OR (bucket, key) > ($1::text COLLATE "C", $2::text COLLATE "C"))
      ORDER BY bucket, key LIMIT $3`,
    [after?.bucket ?? null, after?.key ?? '', limit],
  );
  return res.rows;
}

export interface IntegrityStats {
  /** Copies whose bytes were never read back and checked. */
  neverVerified: number;
  /** Seconds since the least recently checked copy was checked (or written, if never). */
  oldestUnverifiedSeconds: number;
  corrupt: number;
  /** Current versions with no SHA-256 recorded: the backfill's work. */
  withoutHash: number;
}

export async function integrityStats(db: Queryable): Promise<IntegrityStats> {
  const res = await db.query<{ never: string; oldest: number | null; corrupt: string; without_hash: string }>(
    `SELECT (SELECT count(*) FROM object_copies WHERE checked_at IS NULL) AS never,
            (SELECT extract(epoch FROM now() - min(coalesce(checked_at, created_at)))::float8 FROM object_copies) AS oldest,
            (SELECT count(*) FROM object_copies WHERE corrupt_since IS NOT NULL) AS corrupt,
            (SELECT count(*) FROM objects WHERE content_sha256 IS NULL) AS without_hash`,
  );
  const r = res.rows[0];
  return {
    neverVerified: Number(r?.never ?? 0),
    oldestUnverifiedSeconds: Math.max(0, r?.oldest ?? 0),
    corrupt: Number(r?.corrupt ?? 0),
    withoutHash: Number(r?.without_hash ?? 0),
  };
}
