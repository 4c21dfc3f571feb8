import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

export interface JobRow {
  jobId: string;
  kind: string;
  backend: string | null;
  state: string;
  params: Record<string, unknown>;
  actor: string | null;
  objectsTotal: number;
  bytesTotal: number;
  moved: number;
  movedBytes: number;
  dropped: number;
  skipped: number;
  failed: number;
  inFlight: number;
  lastError: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface Raw {
  job_id: string; kind: string; backend: string | null; state: string; params: Record<string, unknown>; actor: string | null;
  objects_total: string; bytes_total: string; moved: string; moved_bytes: string; dropped: string; skipped: string; failed: string;
  in_flight: string; last_error: string | null; started_at: Date; updated_at: Date; finished_at: Date | null;
}

const toRow = (r: Raw): JobRow => ({
  jobId: r.job_id, kind: r.kind, backend: r.backend, state: r.state, params: r.params, actor: r.actor,
  objectsTotal: Number(r.objects_total), bytesTotal: Number(r.bytes_total), moved: Number(r.moved), movedBytes: Number(r.moved_bytes),
  dropped: Number(r.dropped), skipped: Number(r.skipped), failed: Number(r.failed), inFlight: Number(r.in_flight), lastError: r.last_error,
  startedAt: r.started_at.toISOString(), updatedAt: r.updated_at.toISOString(), finishedAt: r.finished_at?.toISOString() ?? null,
});

export async function loadJobRow(db: Queryable, jobId: string): Promise<JobRow | undefined> {
  const res = await db.query<Raw>('SELECT * FROM jobs WHERE job_id = $1', [jobId]);
  return res.rows[0] ? toRow(res.rows[0]) : undefined;
}

export async function listJobs(db: Queryable, opts: { state?: string; limit?: number } = {}): Promise<JobRow[]> {
  const res = opts.state
    ? await db.query<Raw>('SELECT * FROM jobs WHERE state = $1 ORDER BY started_at DESC LIMIT $2', [opts.state, opts.limit ?? 100])
    : await db.query<Raw>('SELECT * FROM jobs ORDER BY started_at DESC LIMIT $1', [opts.limit ?? 100]);
  return res.rows.map(toRow);
}

export async function latestJobFor(db: Queryable, backend: string, kinds: readonly string[]): Promise<JobRow | undefined> {
  const res = await db.query<Raw>('SELECT * FROM jobs WHERE backend = $1 AND kind = ANY($2::text[]) ORDER BY started_at DESC LIMIT 1', [backend, kinds]);
  return res.rows[0] ? toRow(res.rows[0]) : undefined;
}

export interface BackendHoldings {
  objects: number;
  bytes: number;
  pendingCleanup: number;
  exhaustedCleanup: number;
  uploads: number;
}

/** What is still on a backend according to the projections (what a drain waits for). */
export async function backendHoldings(db: Queryable, backend: string): Promise<BackendHoldings> {
  const res = await db.query<{ objects: string; bytes: string; pending: string; exhausted: string; uploads: string }>(
    `SELECT (SELECT count(*) FROM object_copies WHERE backend = $1) AS objects,
            (SELECT coalesce(sum(size), 0) FROM object_copies WHERE backend = $1) AS bytes,
            (SELECT count(*) FROM cleanup_queue WHERE backend = $1 AND state = 'pending') AS pending,
            (SELECT count(*) FROM cleanup_queue WHERE backend = $1 AND state = 'exhausted') AS exhausted,
            (SELECT count(*) FROM multipart_uploads WHERE backend = $1) AS uploads`,
    [backend],
  );
  const r = res.rows[0];
  return {
    objects: Number(r?.objects ?? 0), bytes: Number(r?.bytes ?? 0), pendingCleanup: Number(r?.pending ?? 0),
    exhaustedCleanup: Number(r?.exhausted ?? 0), uploads: Number(r?.uploads ?? 0),
  };
}

/**
 * Whether no other active backend has room for the smallest copy on `backend` that has no copy
 * elsewhere (so a drain can move nothing until room is made). Copies whose object has another
 * copy may be dropped instead of moved, so they are not counted; nor are monthly limits or open
 * breakers: this is what the drain's status says, not what the next move will do.
 */
export async function noRoomForCopies(db: Queryable, backend: string): Promise<boolean> {
  const res = await db.query<{ blocked: boolean }>(
    `SELECT NOT EXISTS (
              SELECT 1 FROM backend_usage u JOIN backend_state s ON s.backend = u.backend
               WHERE u.backend <> $1 AND s.state = 'active'
                 AND (u.quota_bytes = 0 OR u.quota_bytes - u.bytes_used - u.orphan_bytes - u.pending_bytes >= h.size)) AS blocked
       FROM (SELECT c.size FROM object_copies c
              WHERE c.backend = $1
                AND NOT EXISTS (SELECT 1 FROM object_copies o
                                 WHERE o.bucket = c.bucket AND o.key = c.key AND o.write_id = c.write_id AND o.backend <> $1)
              ORDER BY c.size LIMIT 1) AS h`,
    [backend],
  );
  return res.rows[0]?.blocked ?? false;
}

export interface CopyRow {
  bucket: string;
  key: string;
  writeId: string;
  storageKey: string;
  size: number;
}

/** Copies on a backend, smallest first, leaving out the object versions in `exclude` (`bucket/key~writeId`). */
export async function copiesOnBackend(db: Queryable, backend: string, limit: number, exclude: readonly string[] = []): Promise<CopyRow[]> {
  const res = await db.query<{ bucket: string; key: string; write_id: string; storage_key: string; size: string }>(
    `SELECT bucket, key, write_id, storage_key, size FROM object_copies
      WHERE backend = $1 AND NOT (bucket || '/' || key || '~' || write_id = ANY($3::text[]))
      ORDER BY size, bucket, key LIMIT $2`,
    [backend, limit, exclude],
  );
  return res.rows.map((r) => ({ bucket: r.bucket, key: r.key, writeId: r.write_id, storageKey: r.storage_key, size: Number(r.size) }));
}
