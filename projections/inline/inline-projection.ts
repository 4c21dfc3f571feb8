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
 *
 * An append of several events (`s3o_append`), or a group commit's appends of one event each to
 * distinct streams, applies its events set-based, a run of one type at a time in append order,
 * when every projection handling each of their types lists its current version in `group` (an
 * entry for another version is left unused): `s3o_group_<name>(type, streams, revisions, data,
 * meta)` (also in its home) gets a run's events (several may be of one stream, in revision order)
 * and must leave the tables as the handler would, event by event, or raise (the events are then
 * applied one at a time, each append with its own verdict).
 */
export interface InlineProjection extends ProjectionDefinition {
  kind: 'inline';
  bulk: readonly EventVersion[];
  group: readonly EventVersion[];
}

export function defineInlineProjection(
  def: ProjectionDefinition & { bulk?: readonly EventVersion[]; group?: readonly EventVersion[] },
): InlineProjection {
  return { ...def, bulk: def.bulk ?? [], group: def.group ?? [], kind: 'inline' };
}
