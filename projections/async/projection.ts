import type { Position } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { decodePosition } from '../../infra/eventstore/positions.js';
import { eventTypeOf, type ProjectionDefinition } from '../projection.js';

/** A page of the log: the events after `after` (the start when undefined) up to `last`, inclusive. */
export interface PageRange {
  after: Position | undefined;
  last: Position;
}

/**
 * A projection kept up to date by the projection runner, page by page, with one statement over
 * the page's events of its types in the log: `s3o_async_<name>(after, last)`, defined in its home's
 * SQL, which the runner's step (`s3o_projection_step`) calls in the transaction that moves the
 * checkpoint, and a replay through `applyPage`. That
 * function upcasts older versions through the SQL upcasters, references its tables unqualified
 * (rebuilds point search_path at shadow tables) and writes only functions of the events (no now(),
 * no sequences), so a rebuild reproduces the live tables exactly.
 */
export interface AsyncProjection extends ProjectionDefinition {
  kind: 'async';
  /** The types of `handles`: what its pages hold. */
  eventTypes: readonly string[];
  applyPage(db: Queryable, page: PageRange): Promise<void>;
}

export function defineAsyncProjection(def: Omit<AsyncProjection, 'kind' | 'eventTypes' | 'applyPage'>): AsyncProjection {
  if (!/^[a-z][a-z0-9_]*$/.test(def.name)) throw new Error(`async projection name "${def.name}" is not a plain SQL identifier`);
  const sql = `SELECT s3o_async_${def.name}($1::xid8, $2::bigint, $3::xid8, $4::bigint)`;
  return {
    ...def,
    kind: 'async',
    eventTypes: def.handles.map(eventTypeOf),
    async applyPage(db, page) {
      const after = decodePosition(page.after);
      const last = decodePosition(page.last);
      await db.query(sql, [after.txId, after.seq, last.txId, last.seq]);
    },
  };
}
