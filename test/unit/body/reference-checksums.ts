import { createHash } from 'node:crypto';
import { Crc32 } from '@aws-crypto/crc32';
import type { ChecksumAlgorithm } from '../../../gateway/body/index.js';

/** Bitwise reference CRCs (reflected), independent of the libraries the gateway uses. */
function crc32cRef(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
function crc64nvmeRef(data: Buffer): bigint {
  const mask = (1n << 64n) - 1n;
  let c = mask;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0x9a6c9329ac4bc9b5n : c >> 1n;
  }
  return c ^ mask;
}

export function referenceChecksum(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const be = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b.toString('base64'); };
  switch (algorithm) {
    case 'CRC32': return be(new Crc32().update(data).digest());
    case 'CRC32C': return be(crc32cRef(data));
    case 'CRC64NVME': { const b = Buffer.alloc(8); b.writeBigUInt64BE(crc64nvmeRef(data)); return b.toString('base64'); }
    case 'SHA1': return createHash('sha1').update(data).digest('base64');
    case 'SHA256': return createHash('sha256').update(data).digest('base64');
  }
}
