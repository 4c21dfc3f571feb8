import type { Position } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { decodePosition, encodePosition } from '../../infra/eventstore/positions.js';
import type { PageRange } from './projection.js';

export interface AsyncPage extends PageRange {
  /** How many events of the wanted types the page holds (0 for a stretch of the log without any). */
  matched: number;
  /** Whether the page was cut short by its limit, so more may be readable right after it. */
  more: boolean;
}

/**
 * The next page of a replay (rebuild, verify) of a projection of `types`: its events after
 * `after` up to the `limit`-th, found through the type index a type at a time, so a projection
 * of rare events does not read the log's other events (a replay need not move past them: it ends
 * at its last event; the runner's step, projections/schema/runner.sql, finds its pages the same
 * way). Gap-safe pages stay below the oldest running transaction; `until` bounds it (inclusive). Undefined when none is left.
 */
export async function nextReplayPage(
  db: Queryable,
  types: readonly string[],
  after: Position | undefined,
  opts: { limit: number; gapSafe: boolean; until?: Position },
): Promise<AsyncPage | undefined> {
  const from = decodePosition(after);
  const until = opts.until ? decodePosition(opts.until) : undefined;
  const res = await db.query<{ tx_id: string; seq: string; matched: string }>(
    `SELECT tx_id, seq, count(*) OVER () AS matched FROM (
       SELECT x.tx_id, x.seq FROM unnest($3::text[]) AS t(type)
        CROSS JOIN LATERAL (
          SELECT e.tx_id, e.seq FROM public.events e
           WHERE e.type = t.type AND (e.tx_id, e.seq) > ($1::xid8, $2::bigint)${opts.gapSafe ? ' AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())' : ''}
             AND ($5::xid8 IS NULL OR (e.tx_id, e.seq) <= ($5::xid8, $6::bigint))
           ORDER BY e.tx_id, e.seq LIMIT $4) x
        ORDER BY x.tx_id, x.seq LIMIT $4) p
      ORDER BY tx_id DESC, seq DESC LIMIT 1`,
    [from.txId, from.seq, types, opts.limit, until?.txId ?? null, until?.seq ?? null],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  const matched = Number(row.matched);
  return { after, last: encodePosition(row.tx_id, row.seq), matched, more: matched >= opts.limit };
}
