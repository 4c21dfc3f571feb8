import type pg from 'pg';
import type { Position } from '../domain/eventstore/port.js';
import { decodePosition, encodePosition } from '../infra/eventstore/positions.js';
import { nextReplayPage } from './async/pages.js';
import type { AsyncProjection } from './async/projection.js';

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

/** Events of its types per page of an async projection's replay (each page one statement). */
export const asyncReplayPage = 100_000;

/**
 * Replays an async projection set-based into the tables the session's search_path resolves to,
 * one statement (and, unless `inTransaction`, one transaction) per page. `until` bounds the
 * replay (inclusive).
 */
export async function replayAsync(
  db: pg.ClientBase,
  projection: AsyncProjection,
  from: Position | undefined,
  opts: { until?: Position; gapSafe: boolean; onBatch?: (p: ReplayProgress) => void; inTransaction?: boolean; pageSize?: number },
): Promise<{ position: Position | undefined; applied: number }> {
  let position = from;
  let total = 0;
  for (;;) {
    const page = await nextReplayPage(db, projection.eventTypes, position, { limit: opts.pageSize ?? asyncReplayPage, gapSafe: opts.gapSafe, until: opts.until });
    if (!page) break;
    if (opts.inTransaction) {
      await projection.applyPage(db, page);
    } else {
      await db.query('BEGIN');
      try {
        await projection.applyPage(db, page);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK');
        throw err;
      }
    }
    total += page.matched;
    position = page.last;
    opts.onBatch?.({ applied: total, position });
  }
  return { position, applied: total };
}
