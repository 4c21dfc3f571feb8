import { createHash } from 'node:crypto';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A 26-character Crockford base32 id derived from `name`: the same move always gets the same
 * id, so its target storage key is the same after a crash and a retry overwrites, never leaks.
 */
export function derivedId(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
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

export function moveIdFor(jobId: string, bucket: string, key: string, writeId: string, from: string): string {
  return derivedId(`move\u0000${jobId}\u0000${bucket}\u0000${key}\u0000${writeId}\u0000${from}`);
}
