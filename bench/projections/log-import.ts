/**
 * Writes a log straight into `events` and `streams`, one statement per table and batch (no
 * expected-revision checks, no inline projections): a bench's way to prepare a million events in
 * seconds. The rows are the append path's (test/integration/bench-log-import.test.ts compares
 * them); the inline projections' tables are then filled by a rebuild.
 */
import { setImmediate } from 'node:timers/promises';
import type pg from 'pg';
import type { StreamAppend } from '../../domain/eventstore/port.js';

/** One event as the batch's JSON carries it (short keys: a million of them are written and parsed). */
interface Row { s: string; r: string; i: string; t: string; v: number; d: unknown; m: unknown }

/**
 * The batch's events, in order (their seq follows the array), and the last revision of each
 * stream it wrote. The events travel as one JSON text, which PostgreSQL parses in one pass:
 * as arrays of JSON strings, each was escaped again for the array literal, which cost the bench
 * more CPU than PostgreSQL spent storing them.
 */
async function insertBatch(pool: pg.Pool, rows: Row[], streams: Map<string, bigint>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
       SELECT x.s, x.r, x.i, x.t, x.v, x.d, x.m
         FROM ROWS FROM (json_to_recordset($1::json) AS (s text, r bigint, i uuid, t text, v int, d jsonb, m jsonb)) WITH ORDINALITY AS x(s, r, i, t, v, d, m, n)
        ORDER BY x.n`,
      [JSON.stringify(rows)],
    );
    await client.query(
      `INSERT INTO streams (stream_id, category, revision)
       SELECT s, split_part(s, '-', 1), r FROM unnest($1::text[], $2::bigint[]) AS x(s, r)
       ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, updated_at = now()`,
      [[...streams.keys()], [...streams.values()].map(String)],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Imports `batches` in order, one transaction per `eventsPerTransaction` events or so; returns the
 * event count. The next transaction's rows are made while PostgreSQL stores the previous ones
 * (one transaction in flight, so they commit in log order).
 */
export async function importLog(pool: pg.Pool, batches: Iterable<StreamAppend[]>, eventsPerTransaction = 20_000): Promise<number> {
  const revisions = new Map<string, bigint>();
  let rows: Row[] = [];
  let streams = new Map<string, bigint>();
  let inFlight: Promise<void> = Promise.resolve();
  let total = 0;
  const flush = async () => {
    if (rows.length === 0) return;
    const [batchRows, batchStreams] = [rows, streams];
    [rows, streams] = [[], new Map()];
    await inFlight;
    inFlight = insertBatch(pool, batchRows, batchStreams);
    // Not awaited here: a failure surfaces at the next flush or the end.
    inFlight.catch(() => undefined);
  };
  for (const batch of batches) {
    for (const a of batch) {
      let revision = revisions.get(a.streamId) ?? -1n;
      for (const e of a.events) {
        revision++;
        rows.push({ s: a.streamId, r: revision.toString(), i: e.id, t: e.type, v: e.schemaVersion, d: e.data, m: e.metadata });
      }
      revisions.set(a.streamId, revision);
      streams.set(a.streamId, revision);
      total += a.events.length;
    }
    if (rows.length >= eventsPerTransaction) await flush();
    // Making rows never waits for I/O: let the transaction in flight send and hear back meanwhile.
    await setImmediate();
  }
  await flush();
  await inFlight;
  return total;
}
