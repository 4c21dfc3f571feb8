import { failedWriteReasons } from '../../domain/cleanup/cleanup-attempt.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

export type CleanupState = 'pending' | 'exhausted';

export interface CleanupItemRow {
  id: string;
  backend: string;
  storageKey: string;
  size: number;
  kind: string;
  reason: string;
  state: CleanupState;
  attempts: number;
  nextRetryAt: string;
  lastError: string | null;
  createdAt: string;
}

interface Raw {
  id: string; backend: string; storage_key: string; size: string; kind: string; reason: string; state: CleanupState;
  attempts: number; next_retry_at: Date; last_error: string | null; created_at: Date;
}

const toItem = (r: Raw): CleanupItemRow => ({
  id: r.id, backend: r.backend, storageKey: r.storage_key, size: Number(r.size), kind: r.kind, reason: r.reason, state: r.state,
  attempts: r.attempts, nextRetryAt: r.next_retry_at.toISOString(), lastError: r.last_error, createdAt: r.created_at.toISOString(),
});

/**
 * When a pending item is next due, in SQL: a failed write's orphan not yet attempted also waits until
 * `cleanup_queue.failed_write_grace` (milliseconds, parameter `graceParam`) after it was recorded.
 * The worker and the admin listing share it, so the listing's NEXT RETRY is when the worker acts.
 */
export const cleanupDueAtSql = (graceParam: string): string =>
  `CASE WHEN attempts = 0 AND reason IN (${failedWriteReasons.map((r) => `'${r}'`).join(', ')})
        THEN greatest(next_retry_at, created_at + ${graceParam} * interval '1 millisecond') ELSE next_retry_at END`;

const columns = 'id, backend, storage_key, size, kind, reason, state, attempts, last_error, created_at';

export async function loadCleanupItem(db: Queryable, id: string): Promise<CleanupItemRow | undefined> {
  const res = await db.query<Raw>(`SELECT ${columns}, next_retry_at FROM cleanup_queue WHERE id = $1`, [id]);
  return res.rows[0] ? toItem(res.rows[0]) : undefined;
}

/** Items in the order they fall due (see cleanupDueAtSql), optionally of one state. */
export async function listCleanupItems(
  db: Queryable, opts: { state?: CleanupState; limit: number; failedWriteGraceMs: number },
): Promise<CleanupItemRow[]> {
  const res = await db.query<Raw>(
    `SELECT ${columns}, ${cleanupDueAtSql('$3::bigint')} AS next_retry_at FROM cleanup_queue
      WHERE ($1::text IS NULL OR state = $1) ORDER BY next_retry_at, id LIMIT $2`,
    [opts.state ?? null, opts.limit, opts.failedWriteGraceMs],
  );
  return res.rows.map(toItem);
}

export interface CleanupCounts {
  pending: number;
  exhausted: number;
  pendingBytes: number;
  exhaustedBytes: number;
}

export async function cleanupCounts(db: Queryable): Promise<CleanupCounts> {
  const res = await db.query<{ pending: string; exhausted: string; pending_bytes: string; exhausted_bytes: string }>(
    `SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'exhausted') AS exhausted,
            coalesce(sum(size) FILTER (WHERE state = 'pending'), 0) AS pending_bytes,
            coalesce(sum(size) FILTER (WHERE state = 'exhausted'), 0) AS exhausted_bytes
       FROM cleanup_queue`,
  );
  const r = res.rows[0];
  return {
    pending: Number(r?.pending ?? 0), exhausted: Number(r?.exhausted ?? 0),
    pendingBytes: Number(r?.pending_bytes ?? 0), exhaustedBytes: Number(r?.exhausted_bytes ?? 0),
  };
}
