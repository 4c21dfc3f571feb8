import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** A backend as the log knows it: lifecycle state and limits (backend_state) with its usage (backend_usage). */
export interface BackendOverviewRow {
  backend: string;
  /** null when the backend has usage rows but was never registered (should not happen). */
  state: string | null;
  endpoint: string | null;
  quotaBytes: number;
  apiRequestLimit: number;
  egressByteLimit: number;
  ingressByteLimit: number;
  drainJobId: string | null;
  bytesUsed: number;
  objectCount: number;
  orphanBytes: number;
  pendingBytes: number;
}

interface Raw {
  backend: string; state: string | null; endpoint: string | null; quota_bytes: string; api_request_limit: string;
  egress_byte_limit: string; ingress_byte_limit: string; drain_job_id: string | null; bytes_used: string;
  object_count: string; orphan_bytes: string; pending_bytes: string;
}

/** Every backend that appears in the lifecycle or usage projections, by name. */
export async function backendOverview(db: Queryable): Promise<BackendOverviewRow[]> {
  const res = await db.query<Raw>(
    `SELECT coalesce(s.backend, u.backend) AS backend, s.state, s.endpoint,
            coalesce(s.quota_bytes, u.quota_bytes, 0) AS quota_bytes, coalesce(s.api_request_limit, 0) AS api_request_limit,
            coalesce(s.egress_byte_limit, 0) AS egress_byte_limit, coalesce(s.ingress_byte_limit, 0) AS ingress_byte_limit,
            s.drain_job_id, coalesce(u.bytes_used, 0) AS bytes_used, coalesce(u.object_count, 0) AS object_count,
            coalesce(u.orphan_bytes, 0) AS orphan_bytes, coalesce(u.pending_bytes, 0) AS pending_bytes
       FROM backend_state s FULL OUTER JOIN backend_usage u ON u.backend = s.backend
      ORDER BY 1`,
  );
  return res.rows.map((r) => ({
    backend: r.backend, state: r.state, endpoint: r.endpoint, quotaBytes: Number(r.quota_bytes),
    apiRequestLimit: Number(r.api_request_limit), egressByteLimit: Number(r.egress_byte_limit), ingressByteLimit: Number(r.ingress_byte_limit),
    drainJobId: r.drain_job_id, bytesUsed: Number(r.bytes_used), objectCount: Number(r.object_count),
    orphanBytes: Number(r.orphan_bytes), pendingBytes: Number(r.pending_bytes),
  }));
}

export interface BucketStatsRow {
  bucket: string;
  objectCount: number;
  totalBytes: number;
}

/** Objects and bytes per virtual bucket (async projection: may trail the log slightly). */
export async function bucketStats(db: Queryable): Promise<BucketStatsRow[]> {
  const res = await db.query<{ bucket: string; object_count: string; total_bytes: string }>(
    'SELECT bucket, object_count, total_bytes FROM bucket_stats ORDER BY bucket',
  );
  return res.rows.map((r) => ({ bucket: r.bucket, objectCount: Number(r.object_count), totalBytes: Number(r.total_bytes) }));
}

/** A backend's lifecycle state as the log has it, undefined when it was never registered. */
export async function backendLifecycle(db: Queryable, backend: string): Promise<string | undefined> {
  const res = await db.query<{ state: string }>('SELECT state FROM backend_state WHERE backend = $1', [backend]);
  return res.rows[0]?.state;
}
