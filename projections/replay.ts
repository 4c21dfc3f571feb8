import type pg from 'pg';
import type { Position } from '../domain/eventstore/port.js';
import { readAllWith } from '../infra/eventstore/postgres-event-store.js';
import { decodePosition, encodePosition } from '../infra/eventstore/positions.js';
import { decodeAll, type AsyncProjection } from './async/projection.js';

export interface ReplayProgress {
  applied: number;
  position: Position | undefined;
}

/** Events per page of a replay: one statement loads and applies a page (inline), or reads it (async). */
export const replayBatchSize = 10_000;

/**
 * Replays inline projection handlers server-side, page by page, into whatever tables the
 * session's search_path resolves to. Stops when a page comes back empty.
 */
export async function replayInline(
  db: pg.ClientBase,
  names: readonly string[],
  from: Position | undefined,
  opts: { gapSafe: boolean; onBatch?: (p: ReplayProgress) => void; analyze?: readonly string[]; pageSize?: number },
): Promise<{ position: Position | undefined; applied: number }> {
  let { txId, seq } = decodePosition(from);
  let position = from;
  let total = 0;
  const pageSize = opts.pageSize ?? replayBatchSize;
  let nextAnalyze = pageSize;
  for (;;) {
    // Shadow tables start empty, and a plan cached for an empty table (a sequential scan) stays
    // cached as the table grows: at doubling sizes the statistics are refreshed and the session's
    // cached plans dropped, so the handlers are planned again for the table they now have.
    if (opts.analyze?.length && total >= nextAnalyze) {
      await db.query(`ANALYZE ${opts.analyze.join(', ')}`);
      await db.query('DISCARD PLANS');
      nextAnalyze *= 2;
    }
    const res = await db.query<{ applied: number; last_tx: string; last_seq: string }>(
      'SELECT applied, last_tx, last_seq FROM s3o_replay_page($1::text[], $2::xid8, $3::bigint, $4, $5)',
      [names, txId, seq, pageSize, opts.gapSafe],
    );
    const row = res.rows[0];
    if (!row || row.applied === 0) break;
    total += row.applied;
    txId = row.last_tx;
    seq = row.last_seq;
    position = encodePosition(txId, seq);
    opts.onBatch?.({ applied: total, position });
  }
  return { position, applied: total };
}

/**
 * Replays an async projection through its TS handler into the tables the session's
 * search_path resolves to, one transaction per page. `until` bounds the replay (inclusive).
 */
export async function replayAsync(
  db: pg.ClientBase,
  projection: AsyncProjection,
  from: Position | undefined,
  opts: { until?: Position; gapSafe: boolean; onBatch?: (p: ReplayProgress) => void; inTransaction?: boolean },
): Promise<{ position: Position | undefined; applied: number }> {
  let position = from;
  let total = 0;
  for (;;) {
    const page = opts.gapSafe
      ? await readAllWith(db, { after: position, limit: replayBatchSize, filter: { types: projection.eventTypes } })
      : await readVisible(db, position, projection.eventTypes);
    const events = opts.until ? page.events.filter((e) => e.position <= (opts.until as Position)) : page.events;
    if (events.length === 0) break;
    const decoded = decodeAll(events);
    if (opts.inTransaction) {
      await projection.applyBatch(db, decoded);
    } else {
      await db.query('BEGIN');
      try {
        await projection.applyBatch(db, decoded);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK');
        throw err;
      }
    }
    total += events.length;
    position = events[events.length - 1]?.position;
    opts.onBatch?.({ applied: total, position });
    if (events.length < page.events.length) break;
  }
  return { position, applied: total };
}

/** Every event visible to the current snapshot after `after` (no horizon: for RR snapshots). */
async function readVisible(db: pg.ClientBase, after: Position | undefined, types: readonly string[]) {
  const { txId, seq } = decodePosition(after);
  const res = await db.query<{
    seq: string; tx_id: string; stream_id: string; revision: string; event_id: string; type: string;
    schema_version: number; data: unknown; metadata: Record<string, string>; recorded_at: Date;
  }>(
    `SELECT seq, tx_id, stream_id, revision, event_id, type, schema_version, data, metadata, recorded_at
       FROM public.events WHERE (tx_id, seq) > ($1::xid8, $2::bigint) AND type = ANY($3::text[])
      ORDER BY tx_id, seq LIMIT $4`,
    [txId, seq, types, replayBatchSize],
  );
  return {
    events: res.rows.map((r) => ({
      id: r.event_id, streamId: r.stream_id, revision: BigInt(r.revision), type: r.type, schemaVersion: r.schema_version,
      data: r.data, metadata: r.metadata, position: encodePosition(r.tx_id, r.seq), recordedAt: r.recorded_at.toISOString(),
    })),
  };
}
