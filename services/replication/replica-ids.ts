import { derivedId } from '../moves/move-ids.js';

/**
 * The placement id of a replica made from an object at stream revision `revision`. Deterministic,
 * so an attempt that died between copy and commit is overwritten by the next attempt, not leaked;
 * and never the id of a committed copy: committing a replica moves the revision on, so a later
 * replica on the same backend (after the first was dropped) gets another id, and the cleanup of
 * the earlier one can never delete it.
 */
export function replicaIdFor(bucket: string, key: string, writeId: string, backend: string, revision: bigint | 'no_stream'): string {
  return derivedId(`replica\u0000${bucket}\u0000${key}\u0000${writeId}\u0000${backend}\u0000${String(revision)}`);
}
