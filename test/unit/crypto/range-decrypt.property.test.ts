/**
 * Range reads: for every layout and every range, decrypting exactly the backend bytes the plan
 * names yields exactly the plaintext slice.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { planFullRead, planRange, planWholeObject } from '../../../domain/encryption/read-plan.js';
import { CiphertextIntegrityError, createDataKey, createRangeDecryptStream, openDataKey, RangeDecryptor, type DataKey } from '../../../infra/crypto/index.js';
import { encryptParts, localKeyring, plaintextOf, randomKey, runThrough, splitInto, type EncryptedObject } from '../../support/encryption.js';

const keyring = localKeyring(randomKey());

async function readRange(object: EncryptedObject, dataKey: DataKey, start: number, end: number, pieces: readonly number[]): Promise<Buffer> {
  const plan = planRange(object.envelope, start, end);
  const fetched = object.stored.subarray(plan.backendRange.start, plan.backendRange.end + 1);
  return runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), splitInto(fetched, pieces));
}

const partSizes = fc.array(fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(16, 32, 64, 128)), { minLength: 1, maxLength: 4 });

const cases = fc.record({
  chunkSize: fc.constantFrom(16, 32, 64),
  parts: partSizes,
  singlePut: fc.boolean(),
  pieces: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }),
  ends: fc.tuple(fc.nat(), fc.nat()),
}).filter((c) => c.parts.reduce((a, b) => a + b, 0) > 0);

describe('range reads decrypt exactly the requested slice', () => {
  test('random layouts (single PUT and multipart), random ranges, random network splits', async () => {
    await fc.assert(fc.asyncProperty(cases, async ({ chunkSize, parts, singlePut, pieces, ends }) => {
      const dataKey = await createDataKey(keyring, chunkSize);
      const buffers = singlePut ? [plaintextOf(parts.reduce((a, b) => a + b, 0), 1)] : parts.map((size, i) => plaintextOf(size, i));
      const object = encryptParts(dataKey, buffers, singlePut ? [0] : undefined);
      const total = object.plaintext.length;
      const start = Math.min(ends[0] % total, ends[1] % total);
      const end = Math.max(ends[0] % total, ends[1] % total);
      const read = await readRange(object, dataKey, start, end, pieces);
      expect(read.equals(object.plaintext.subarray(start, end + 1))).toBe(true);
    }), { numRuns: 300 });
  });

  test('a whole-object read (every stored byte, no Range) decrypts to the whole plaintext, empty parts anywhere included', async () => {
    const layouts = fc.record({
      chunkSize: fc.constantFrom(16, 32, 64),
      parts: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })), { minLength: 1, maxLength: 4 }),
      singlePut: fc.boolean(),
      pieces: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }),
    }).filter((c) => c.parts.reduce((a, b) => a + b, 0) > 0);
    await fc.assert(fc.asyncProperty(layouts, async ({ chunkSize, parts, singlePut, pieces }) => {
      const dataKey = await createDataKey(keyring, chunkSize);
      const buffers = singlePut ? [plaintextOf(parts.reduce((a, b) => a + b, 0), 1)] : parts.map((size, i) => plaintextOf(size, i));
      const object = encryptParts(dataKey, buffers, singlePut ? [0] : undefined);
      const plan = planWholeObject(object.envelope);
      if (!plan) throw new Error('the object has plaintext');
      const read = await runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), splitInto(object.stored, pieces));
      expect(read.equals(object.plaintext)).toBe(true);
    }), { numRuns: 300 });
  });

  test('every range of a multipart object with an empty part and parts ending on and off chunk boundaries', async () => {
    const dataKey = await createDataKey(keyring, 16);
    const object = encryptParts(dataKey, [plaintextOf(40, 1), plaintextOf(0, 2), plaintextOf(16, 3), plaintextOf(33, 4), plaintextOf(1, 5)]);
    const reader = await openDataKey(keyring, object.envelope);
    const total = object.plaintext.length;
    for (let start = 0; start < total; start += 1) {
      for (let end = start; end < total; end += 1) {
        const read = await readRange(object, reader, start, end, [start % 7 + 1, 64]);
        if (!read.equals(object.plaintext.subarray(start, end + 1))) throw new Error(`range ${start}-${end} decrypted wrongly`);
      }
    }
  });

  test('every range of a single-PUT object at the configured minimum chunk size, around its chunk boundaries', async () => {
    const chunkSize = 4096;
    const dataKey = await createDataKey(keyring, chunkSize);
    const object = encryptParts(dataKey, [plaintextOf(3 * chunkSize + 100, 9)], [0]);
    const edges = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize - 1, 2 * chunkSize, 3 * chunkSize, 3 * chunkSize + 99];
    for (const start of edges) {
      for (const end of edges.filter((e) => e >= start)) {
        expect((await readRange(object, dataKey, start, end, [4112])).equals(object.plaintext.subarray(start, end + 1))).toBe(true);
      }
    }
  });
});

describe('plaintext leaves only after its chunk has authenticated', () => {
  test('fed a byte at a time, a chunk yields nothing before the last byte of its tag; a bad tag yields none of it', async () => {
    const chunkSize = 32;
    const dataKey = await createDataKey(keyring, chunkSize);
    const object = encryptParts(dataKey, [plaintextOf(3 * chunkSize + 5, 4)], [0]);
    const plan = planFullRead(object.envelope);
    if (!plan) throw new Error('empty object');
    const fetched = object.stored.subarray(plan.backendRange.start);
    const header = plan.pieces[0]?.headerBytes ?? 0;
    // Where each chunk's tag ends in the fetched bytes: only those bytes may release plaintext.
    const tagEnds = [1, 2, 3].map((i) => header + i * (chunkSize + 16)).concat(fetched.length);
    const decryptor = new RangeDecryptor(plan, object.envelope, dataKey);
    const released: Buffer[] = [];
    for (let at = 0; at < fetched.length; at += 1) {
      const plain = decryptor.update(fetched.subarray(at, at + 1));
      const count = Buffer.concat(plain).length;
      if (tagEnds.includes(at + 1)) expect(count).toBe(at + 1 === fetched.length ? 5 : chunkSize);
      else expect(count, `byte ${at}`).toBe(0);
      released.push(...plain);
    }
    decryptor.end();
    expect(Buffer.concat(released).equals(object.plaintext)).toBe(true);

    const damaged = Buffer.from(fetched);
    const lastTagByte = (tagEnds[1] as number) - 1;
    damaged[lastTagByte] = (damaged[lastTagByte] as number) ^ 1;
    const reader = new RangeDecryptor(plan, object.envelope, dataKey);
    const before = reader.update(damaged.subarray(0, lastTagByte));
    expect(Buffer.concat(before).equals(object.plaintext.subarray(0, chunkSize))).toBe(true);
    expect(() => reader.update(damaged.subarray(lastTagByte))).toThrow(CiphertextIntegrityError);
  });

  test('a chunk opened in the buffers it arrived in yields none of its plaintext when any bit of it is flipped', async () => {
    const chunkSize = 32;
    const dataKey = await createDataKey(keyring, chunkSize);
    const object = encryptParts(dataKey, [plaintextOf(2 * chunkSize + 5, 6)], [0]);
    const plan = planFullRead(object.envelope);
    if (!plan) throw new Error('empty object');
    const fetched = object.stored.subarray(plan.backendRange.start);
    const header = plan.pieces[0]?.headerBytes ?? 0;
    const second = header + chunkSize + 16;
    // The second chunk arrives in two buffers split inside its ciphertext, its tag whole in the second.
    const split = second + 10;
    for (let bit = second * 8; bit < (second + chunkSize + 16) * 8; bit += 1) {
      const damaged = Buffer.from(fetched);
      damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
      const reader = new RangeDecryptor(plan, object.envelope, dataKey);
      const first = Buffer.concat(reader.update(damaged.subarray(0, split)));
      expect(first.equals(object.plaintext.subarray(0, chunkSize))).toBe(true);
      expect(() => reader.update(damaged.subarray(split)), `bit ${bit}`).toThrow(CiphertextIntegrityError);
    }
    const reader = new RangeDecryptor(plan, object.envelope, dataKey);
    const whole = [...reader.update(fetched.subarray(0, split)), ...reader.update(fetched.subarray(split))];
    reader.end();
    expect(Buffer.concat(whole).equals(object.plaintext)).toBe(true);
  });
});
