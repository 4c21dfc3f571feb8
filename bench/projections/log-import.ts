/**
 * Writes a log straight into `events` and `streams` with one multi-row INSERT per batch (no
 * expected-revision checks, no inline projections): a bench's way to prepare a million events in
 * seconds. The rows are the append path's (test/integration/bench-log-import.test.ts compares
 * them); the inline projections' tables are then filled by a rebuild.
 */
import type pg from 'pg';
import type { StreamAppend } from '../../domain/eventstore/port.js';

/** Imports `batches` in order, one transaction per `eventsPerTransaction` events or so; returns the event count. */
export async function importLog(pool: pg.Pool, batches: Iterable<StreamAppend[]>, eventsPerTransaction = 20_000): Promise<number> {
  const revisions = new Map<string, bigint>();
  const rows = { streams: [] as string[], revisions: [] as string[], ids: [] as string[], types: [] as string[], versions: [] as number[], data: [] as string[], meta: [] as string[] };
  let total = 0;
  const flush = async () => {
    if (rows.ids.length === 0) return;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])`,
        [rows.streams, rows.revisions, rows.ids, rows.types, rows.versions, rows.data, rows.meta],
      );
      // The last revision of each stream the batch wrote.
      const last = new Map<string, string>();
      rows.streams.forEach((s, i) => last.set(s, rows.revisions[i] as string));
      await client.query(
        `INSERT INTO streams (stream_id, category, revision)
         SELECT s, split_part(s, '-', 1), r FROM unnest($1::text[], $2::bigint[]) AS x(s, r)
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, updated_at = now()`,
        [[...last.keys()], [...last.values()]],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    for (const k of Object.keys(rows) as (keyof typeof rows)[]) rows[k].length = 0;
  };
  for (const batch of batches) {
    for (const a of batch) {
      let revision = revisions.get(a.streamId) ?? -1n;
      for (const e of a.events) {
        revision++;
        rows.streams.push(a.streamId);
        rows.revisions.push(revision.toString());
        rows.ids.push(e.id);
        rows.types.push(e.type);
        rows.versions.push(e.schemaVersion);
        rows.data.push(JSON.stringify(e.data));
        rows.meta.push(JSON.stringify(e.metadata));
      }
      revisions.set(a.streamId, revision);
      total += a.events.length;
    }
    if (rows.ids.length >= eventsPerTransaction) await flush();
  }
  await flush();
  return total;
}
