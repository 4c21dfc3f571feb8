import type { EventVersion, ProjectionDefinition } from '../projection.js';

/**
 * A projection written in the same transaction as the events it derives from (what the S3 hot
 * path reads). Its home holds, besides its tables, `handler.sql` defining
 * `s3o_proj_<name>(stream, revision, type, data, meta, enforce)`, which the generated dispatch
 * (`s3o_project_inline`) calls for each event it handles, in registry order, inside every
 * append. `enforce` is true there: invariants are checked and a violation rolls the append back.
 * Replays call it with false (history is applied as it happened).
 *
 * A replay (rebuild, verify) reads the log a page at a time. The events of a page in `bulk` are
 * applied set-based, a run at a time, by `s3o_bulk_<name>(from, to)` (also in its home): it
 * reads the run from `pg_temp.s3o_replay_events` (ords from..to, nothing of another type in
 * between) and must leave the tables as the handler would, event by event. The other handled
 * events end a run and go through the handler.
 */
export interface InlineProjection extends ProjectionDefinition {
  kind: 'inline';
  bulk: readonly EventVersion[];
}

export function defineInlineProjection(def: ProjectionDefinition & { bulk?: readonly EventVersion[] }): InlineProjection {
  return { ...def, bulk: def.bulk ?? [], kind: 'inline' };
}
