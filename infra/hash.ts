import * as crypto from 'node:crypto';

/**
 * Node's one-shot `crypto.hash` (20.12 and later) hashes a short input in about half the time
 * of `createHash().update().digest()`, which builds a Hash object per call: it showed in the
 * profile of every SigV4 check and backend signature. Node 20.10–20.11 lack it (the namespace
 * import makes it undefined there rather than failing to load).
 */
const oneShot: typeof crypto.hash | undefined = (crypto as { hash?: typeof crypto.hash }).hash;

/**
 * SHA-256 as lower-case hex of `data`: a string is hashed as `encoding` (UTF-8 unless told; a
 * SigV4 canonical request is hashed as latin-1, one byte per char as Node decoded it off the wire).
 */
export function sha256Hex(data: string | Buffer, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  if (oneShot !== undefined) {
    // crypto.hash takes a string as UTF-8, which is latin-1's bytes when every char is ASCII (its
    // UTF-8 length is then its length): only a string with other chars needs a latin-1 Buffer.
    const latin1 = typeof data === 'string' && encoding === 'latin1' && Buffer.byteLength(data, 'utf8') !== data.length;
    return oneShot('sha256', latin1 ? Buffer.from(data, 'latin1') : data, 'hex');
  }
  return crypto.createHash('sha256').update(typeof data === 'string' ? Buffer.from(data, encoding) : data).digest('hex');
}
