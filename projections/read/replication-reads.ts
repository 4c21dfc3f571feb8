import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** An object (current version) as the replication workers scan them, in key order. */
export interface ObjectKeyRow {
  bucket: string;
  key: string;
}

export interface ReplicationScan {
  /** Backends whose copies count toward the factor (configured and not unhealthy). */
  counted: readonly string[];
  factor: number;
  /** Continue after this object (exclusive). */
  after?: ObjectKeyRow;
  limit: number;
}

function scan(db: Queryable, s: ReplicationScan, comparison: '<' | '>'): Promise<ObjectKeyRow[]> {
  const params: unknown[] = [s.counted, s.factor, s.limit];
  let seek = '';
  if (s.after) {
    params.push(s.after.bucket, s.after.key);
    seek = 'AND (o.bucket, o.key) > ($4, $5)';
  }
  return db.query<ObjectKeyRow>(
    `SELECT o.bucket, o.key FROM objects o
      WHERE (SELECT count(*) FROM object_copies c
              WHERE c.bucket = o.bucket AND c.key = o.key AND c.backend = ANY($1::text[])) ${comparison} $2
        ${seek}
      ORDER BY o.bucket, o.key LIMIT $3`,
    params,
  ).then((r) => r.rows);
}

/** Objects with fewer counted copies than the factor, in (bucket, key) order. */
export function underReplicated(db: Queryable, s: ReplicationScan): Promise<ObjectKeyRow[]> {
  return scan(db, s, '<');
}

/** Objects with more counted copies than the factor, in (bucket, key) order. */
export function overReplicated(db: Queryable, s: ReplicationScan): Promise<ObjectKeyRow[]> {
  return scan(db, s, '>');
}

/** How many objects have fewer (`under`) and more (`over`) counted copies than the factor. */
export async function replicationBacklog(db: Queryable, counted: readonly string[], factor: number): Promise<{ under: number; over: number }> {
  const res = await db.query<{ under: string; over: string }>(
    `SELECT count(*) FILTER (WHERE n < $2) AS under, count(*) FILTER (WHERE n > $2) AS over
       FROM (SELECT (SELECT count(*) FROM object_copies c
                      WHERE c.bucket = o.bucket AND c.key = o.key AND c.backend = ANY($1::text[])) AS n
               FROM objects o) t`,
    [counted, factor],
  );
  return { under: Number(res.rows[0]?.under ?? 0), over: Number(res.rows[0]?.over ?? 0) };
}
