import type { ProjectionDefinition } from '../projection.js';

/**
 * A projection written in the same transaction as the events it derives from (what the S3 hot
 * path reads). Its home holds, besides its tables, `handler.sql` defining
 * `s3o_proj_<name>(stream, revision, type, data, meta, enforce)`, which the generated dispatch
 * (`s3o_project_inline`) calls for each event it handles, in registry order, inside every
 * append. `enforce` is true there: invariants are checked and a violation rolls the append back.
 * Replays call it with false (history is applied as it happened).
 */
export interface InlineProjection extends ProjectionDefinition {
  kind: 'inline';
}

export function defineInlineProjection(def: ProjectionDefinition): InlineProjection {
  return { ...def, kind: 'inline' };
}
