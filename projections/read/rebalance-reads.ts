import type { RebalanceCopy } from '../../domain/placement/rebalance-plan.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** The smallest copies on a backend, with every backend holding a copy of the same object. */
export async function smallestCopies(db: Queryable, backend: string, limit: number): Promise<RebalanceCopy[]> {
  const res = await db.query<{ bucket: string; key: string; write_id: string; storage_key: string; size: string; holders: string[] }>(
    `SELECT c.bucket, c.key, c.write_id, c.storage_key, c.size,
            (SELECT array_agg(h.backend) FROM object_copies h WHERE h.bucket = c.bucket AND h.key = c.key) AS holders
       FROM object_copies c
      WHERE c.backend = $1
      ORDER BY c.size, c.bucket, c.key
      LIMIT $2`,
    [backend, limit],
  );
  return res.rows.map((r) => ({
    bucket: r.bucket, key: r.key, writeId: r.write_id, backend, storageKey: r.storage_key, size: Number(r.size), holders: r.holders,
  }));
}

/** The rebalance job running now, if any. */
export async function runningRebalance(db: Queryable): Promise<string | undefined> {
  const res = await db.query<{ job_id: string }>("SELECT job_id FROM jobs WHERE kind = 'rebalance' AND state = 'running' ORDER BY started_at LIMIT 1");
  return res.rows[0]?.job_id;
}
