import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for data keys and segment salts, drawn from a pool refilled by the CSPRNG 4 KiB
 * at a time: one `randomBytes` call per key and per salt was a visible share of a 4 KiB PUT
 * (each crosses into OpenSSL). Every byte is handed out once and zeroed in the pool as it is.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL_BYTES) return randomFillSync(Buffer.alloc(n));
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n);
  used += n;
  return bytes;
}
