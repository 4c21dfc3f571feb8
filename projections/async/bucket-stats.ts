import type { AsyncProjection } from './projection.js';

/** Objects and bytes per virtual bucket, for the dashboard and `s3o admin status`. */
export const bucketStatsProjection: AsyncProjection = {
  name: 'bucket_stats',
  tables: ['bucket_stats'],
  eventTypes: ['ObjectWritten', 'ObjectDeleted'],
  async applyBatch(db, events) {
    const deltas = new Map<string, { count: number; bytes: number }>();
    for (const { event } of events) {
      let d: { count: number; bytes: number };
      if (event.type === 'ObjectWritten') {
        d = { count: event.data.previousSize === null ? 1 : 0, bytes: event.data.size - (event.data.previousSize ?? 0) };
      } else if (event.type === 'ObjectDeleted') {
        d = { count: -1, bytes: -event.data.size };
      } else {
        continue;
      }
      const acc = deltas.get(event.data.bucket) ?? { count: 0, bytes: 0 };
      acc.count += d.count;
      acc.bytes += d.bytes;
      deltas.set(event.data.bucket, acc);
    }
    if (deltas.size === 0) return;
    const buckets = [...deltas.keys()];
    await db.query(
      `INSERT INTO bucket_stats AS s (bucket, object_count, total_bytes)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
       ON CONFLICT (bucket) DO UPDATE SET object_count = s.object_count + EXCLUDED.object_count,
                                          total_bytes = s.total_bytes + EXCLUDED.total_bytes`,
      [buckets, buckets.map((b) => deltas.get(b)?.count ?? 0), buckets.map((b) => deltas.get(b)?.bytes ?? 0)],
    );
  },
};
