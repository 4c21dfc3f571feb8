/**
 * Placement ids: the suffix of the storage key of a copy made after the write (a move or a
 * replica, see storage-keys.ts). They are derived, not random: the same move or replica attempt
 * always gets the same id, so its target storage key is the same after a crash and a retry
 * overwrites it instead of leaking bytes.
 */

/** SHA-256 of a string, passed in (infra/ids.ts has node's) so that domain/ stays free of I/O modules. */
export type Sha256 = (text: string) => Uint8Array;

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A 26-character Crockford base32 id derived from `name`. */
function derivedId(sha256: Sha256, name: string): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of sha256(name)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += crockford[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === 26) break;
  }
  return out;
}

/** The id of the move of one copy (object version on backend `from`) by one job. */
export function moveIdFor(sha256: Sha256, jobId: string, bucket: string, key: string, writeId: string, from: string): string {
  return derivedId(sha256, `move\u0000${jobId}\u0000${bucket}\u0000${key}\u0000${writeId}\u0000${from}`);
}

/**
 * The placement id of a replica made from an object at stream revision `revision`. Never the id
 * of a committed copy: committing a replica moves the revision on, so a later replica on the same
 * backend (after the first was dropped) gets another id, and the cleanup of the earlier one can
 * never delete it.
 */
export function replicaIdFor(sha256: Sha256, bucket: string, key: string, writeId: string, backend: string, revision: bigint | 'no_stream'): string {
  return derivedId(sha256, `replica\u0000${bucket}\u0000${key}\u0000${writeId}\u0000${backend}\u0000${String(revision)}`);
}

/** The id of one encryption job's rewrite of one object version (all its copies): the suffix of the new copies' storage keys. */
export function rewriteIdFor(sha256: Sha256, jobId: string, bucket: string, key: string, writeId: string): string {
  return derivedId(sha256, `rewrite\u0000${jobId}\u0000${bucket}\u0000${key}\u0000${writeId}`);
}
