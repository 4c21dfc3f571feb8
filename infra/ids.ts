import { createHash, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const pool = Buffer.alloc(4096);
let offset = pool.length;

/** Random numbers in [0, 1) from a refilled pool of crypto bytes (one syscall per 4 KiB, not per character). */
function pooledRandom(): number {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  return (pool[offset++] as number) / 256;
}

/**
 * ULIDs (time-ordered ids: write ids, upload ids, job and cleanup ids). The library's default
 * source asks the kernel for randomness once per character, which showed up as the largest
 * cost of a small PUT; the pooled source keeps its output just as random.
 */
export const newUlid: (seedTime?: number) => string = monotonicFactory(pooledRandom);

/** SHA-256 of a string's UTF-8 bytes (the digest derived placement ids are made from). */
export function sha256(text: string): Uint8Array {
  return createHash('sha256').update(text).digest();
}

let requestCounter = 0;
const requestPrefix = randomFillSync(Buffer.alloc(3)).toString('hex').toUpperCase();

/** A request id unique within this process and, by its random prefix, across instances. */
export function newRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x1_0000_0000_00;
  return `${requestPrefix}${requestCounter.toString(16).toUpperCase().padStart(10, '0')}`;
}
