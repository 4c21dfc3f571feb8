import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** Totals of every job of a kind (and backend), and the progress of those still running. */
export interface JobTotals {
  kind: string;
  backend: string | null;
  running: number;
  /** Over every job of this kind and backend, finished or not. */
  moved: number;
  movedBytes: number;
  /** Over the running jobs only. */
  runningPlanned: number;
  runningPlannedBytes: number;
  runningDone: number;
  runningFailed: number;
  runningMovedBytes: number;
}

/** What the metrics read from the projections at a scrape: one round trip. */
export interface TelemetrySnapshot {
  jobs: JobTotals[];
  cleanup: { pending: number; exhausted: number };
  uploadsByBackend: Map<string, number>;
}

interface JobRaw {
  kind: string; backend: string | null; running: string; moved: string; moved_bytes: string;
  r_planned: string; r_planned_bytes: string; r_done: string; r_failed: string; r_moved_bytes: string;
}

export async function readTelemetry(db: Queryable): Promise<TelemetrySnapshot> {
  const res = await db.query<{ jobs: JobRaw[] | null; pending: string; exhausted: string; uploads: Array<{ backend: string; n: string }> | null }>(
    `SELECT
       (SELECT json_agg(j) FROM (
          SELECT kind, backend,
                 count(*) FILTER (WHERE state = 'running') AS running,
                 sum(moved) AS moved, sum(moved_bytes) AS moved_bytes,
                 coalesce(sum(objects_total) FILTER (WHERE state = 'running'), 0) AS r_planned,
                 coalesce(sum(bytes_total) FILTER (WHERE state = 'running'), 0) AS r_planned_bytes,
                 coalesce(sum(moved + dropped + skipped) FILTER (WHERE state = 'running'), 0) AS r_done,
                 coalesce(sum(failed) FILTER (WHERE state = 'running'), 0) AS r_failed,
                 coalesce(sum(moved_bytes) FILTER (WHERE state = 'running'), 0) AS r_moved_bytes
            FROM jobs GROUP BY kind, backend) j) AS jobs,
       (SELECT count(*) FROM cleanup_queue WHERE state = 'pending') AS pending,
       (SELECT count(*) FROM cleanup_queue WHERE state = 'exhausted') AS exhausted,
       (SELECT json_agg(u) FROM (SELECT backend, count(*) AS n FROM multipart_uploads GROUP BY backend) u) AS uploads`,
  );
  const row = res.rows[0];
  return {
    jobs: (row?.jobs ?? []).map((j) => ({
      kind: j.kind, backend: j.backend, running: Number(j.running), moved: Number(j.moved), movedBytes: Number(j.moved_bytes),
      runningPlanned: Number(j.r_planned), runningPlannedBytes: Number(j.r_planned_bytes), runningDone: Number(j.r_done),
      runningFailed: Number(j.r_failed), runningMovedBytes: Number(j.r_moved_bytes),
    })),
    cleanup: { pending: Number(row?.pending ?? 0), exhausted: Number(row?.exhausted ?? 0) },
    uploadsByBackend: new Map((row?.uploads ?? []).map((u) => [u.backend, Number(u.n)])),
  };
}
