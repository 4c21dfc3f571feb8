/**
 * Ids of the work that places copies after the write: a job's move of one copy, an encryption
 * job's rewrite of one version. They are derived, not random, so the job's records name the same
 * move or rewrite after a crash. The storage keys that work writes are not derived from them:
 * each attempt writes a fresh key (see domain/cleanup/cleanup-attempt.ts).
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

/** The id of one encryption job's rewrite of one object version (all its copies). */
export function rewriteIdFor(sha256: Sha256, jobId: string, bucket: string, key: string, writeId: string): string {
  return derivedId(sha256, `rewrite\u0000${jobId}\u0000${bucket}\u0000${key}\u0000${writeId}`);
}
