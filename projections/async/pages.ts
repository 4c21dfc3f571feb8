import type { Position } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { decodePosition, encodePosition } from '../../infra/eventstore/positions.js';
import type { PageRange } from './projection.js';

/** Events of the global order one page looks at, at most (and at least its limit of matching ones). */
export const pageWindow = 50_000;

export interface AsyncPage extends PageRange {
  /** How many events of the wanted types the page holds (0 for a stretch of the log without any). */
  matched: number;
  /** Whether the page was cut short (by its limit or its window), so more may be readable right after it. */
  more: boolean;
}

/**
 * The next page after `after` for a projection of `types`: the next events of the global order
 * (at most max(`limit`, pageWindow)), cut just before the (`limit` + 1)-th event of those types,
 * so a page holds at most `limit` of them and a stretch of others is passed over in one page. Only
 * positions are read (the projection's statement reads the data). Gap-safe pages stay below the
 * oldest running transaction, so no event of the page can still commit later; `until` bounds it
 * (inclusive). Undefined when there is nothing after `after`.
 */
export async function nextPage(
  db: Queryable,
  types: readonly string[],
  after: Position | undefined,
  opts: { limit: number; gapSafe: boolean; until?: Position },
): Promise<AsyncPage | undefined> {
  const from = decodePosition(after);
  const until = opts.until ? decodePosition(opts.until) : undefined;
  const window = Math.max(opts.limit, pageWindow);
  const res = await db.query<{ tx_id: string; seq: string; matched: string; seen: string }>(
    `SELECT tx_id, seq, matched, seen FROM (
       SELECT tx_id, seq, count(*) FILTER (WHERE type = ANY($3::text[])) OVER (ORDER BY tx_id, seq ROWS UNBOUNDED PRECEDING) AS matched,
              count(*) OVER () AS seen
         FROM (SELECT tx_id, seq, type FROM public.events
                WHERE (tx_id, seq) > ($1::xid8, $2::bigint)${opts.gapSafe ? ' AND tx_id < pg_snapshot_xmin(pg_current_snapshot())' : ''}
                  AND ($5::xid8 IS NULL OR (tx_id, seq) <= ($5::xid8, $6::bigint))
                ORDER BY tx_id, seq LIMIT $4) w) x
      WHERE matched <= $7 ORDER BY tx_id DESC, seq DESC LIMIT 1`,
    [from.txId, from.seq, types, window, until?.txId ?? null, until?.seq ?? null, opts.limit],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  const matched = Number(row.matched);
  return { after, last: encodePosition(row.tx_id, row.seq), matched, more: matched >= opts.limit || Number(row.seen) >= window };
}

/**
 * The next page of a replay (rebuild, verify) of a projection of `types`: its events after
 * `after` up to the `limit`-th, found through the type index a type at a time, so a projection
 * of rare events does not read the whole log as `nextPage` does (a replay need not move past the
 * others: it ends at its last event). Gap-safe pages stay below the oldest running transaction;
 * `until` bounds it (inclusive). Undefined when none is left.
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
