import { hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { deriveSegmentKey } from '../../../infra/crypto/chunk-cipher.js';

/** The derivation as DESIGN.md states it, by Node's own HKDF. */
function hkdfSegmentKey(dataKey: Buffer, chunkSize: number, partNumber: number, salt: Buffer): Buffer {
  const info = Buffer.alloc(27);
  info.write('s3o/segment-key/v2', 'latin1');
  info[18] = 2;
  info.writeUInt32BE(chunkSize, 19);
  info.writeUInt32BE(partNumber, 23);
  return Buffer.from(hkdfSync('sha256', dataKey, salt, info, 32));
}

describe('deriveSegmentKey', () => {
  test('is HKDF-SHA256 of the data key, salt and info for random keys, salts, chunk sizes and part numbers', () => {
    for (let i = 0; i < 2000; i += 1) {
      const dataKey = randomBytes(32);
      const salt = randomBytes(16);
      const chunkSize = 16 * 2 ** randomInt(17);
      const partNumber = randomInt(10_001);
      expect(deriveSegmentKey(dataKey, chunkSize, partNumber, salt).equals(hkdfSegmentKey(dataKey, chunkSize, partNumber, salt))).toBe(true);
    }
  });
});
