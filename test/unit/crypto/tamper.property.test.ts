/**
 * Tampered ciphertext is detected, never decrypted into other bytes: flipped bits anywhere,
 * swapped, duplicated and dropped chunks, truncation at and between chunk boundaries, header
 * changes. Both readers are checked: the planned reader (recorded envelope, the data path) and
 * the reader of bytes alone (recovery, sync).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CHUNK_TAG_BYTES, chunkCount, chunkPlainLength } from '../../../domain/encryption/layout.js';
import { planFullRead, planRange, planWholeObject, type ReadPlan } from '../../../domain/encryption/read-plan.js';
import {
  CiphertextIntegrityError, createDataKey, createRangeDecryptStream, createStoredObjectDecryptStream, decryptPlanned, KeyUnwrapError,
  NotEncryptedError, openDataKey, UnknownKeyIdError,
} from '../../../infra/crypto/index.js';
import { encryptParts, localKeyring, plaintextOf, randomKey, runThrough, splitInto, type EncryptedObject } from '../../support/encryption.js';

const keyring = localKeyring(randomKey());

const isDetection = (error: unknown): boolean =>
  error instanceof CiphertextIntegrityError || error instanceof NotEncryptedError || error instanceof UnknownKeyIdError || error instanceof KeyUnwrapError;

/** What the reader of bytes alone makes of stored bytes: the plaintext, or the error. */
async function fromBytes(stored: Buffer, pieces: readonly number[] = [57, 1000]): Promise<Buffer | Error> {
  return runThrough(createStoredObjectDecryptStream(keyring), splitInto(stored, pieces)).catch((error: unknown) => error as Error);
}

/**
 * What the planned reader makes of stored bytes that should hold `object`, reading the whole
 * object as a GET does: only the planned backend range is fetched, so a change outside it (bytes
 * appended, the first header) is never seen — and must then not matter.
 */
async function planned(object: EncryptedObject, stored: Buffer): Promise<Buffer | Error> {
  const plan = planFullRead(object.envelope);
  if (!plan) throw new Error('test objects have plaintext');
  const dataKey = await openDataKey(keyring, object.envelope);
  const fetched = stored.subarray(plan.backendRange.start, plan.backendRange.end + 1);
  return runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), splitInto(fetched, [61])).catch((error: unknown) => error as Error);
}

/** The same for a whole-object GET: every stored byte fetched (no Range), the first header checked too. */
async function plannedWhole(object: EncryptedObject, stored: Buffer): Promise<Buffer | Error> {
  const plan = planWholeObject(object.envelope);
  if (!plan) throw new Error('test objects have plaintext');
  const dataKey = await openDataKey(keyring, object.envelope);
  return runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), splitInto(stored, [61])).catch((error: unknown) => error as Error);
}

function fetchedRangeChanged(object: EncryptedObject, stored: Buffer): boolean {
  const plan = planFullRead(object.envelope);
  if (!plan) throw new Error('test objects have plaintext');
  const range = (bytes: Buffer) => bytes.subarray(plan.backendRange.start, plan.backendRange.end + 1);
  return !range(stored).equals(range(object.stored));
}

/** Detected, or (the change was outside what the planned reader needs) exactly the plaintext. */
function expectDetectedOrHarmless(result: Buffer | Error, object: EncryptedObject, what: string): void {
  if (Buffer.isBuffer(result)) expect(result.equals(object.plaintext), `${what} gave other bytes`).toBe(true);
  else expectDetected(result, what);
}

function expectDetected(result: Buffer | Error, what: string): void {
  if (Buffer.isBuffer(result)) throw new Error(`${what} was not detected`);
  if (!isDetection(result)) throw result;
}

/** Stored offset and length of every chunk, in order. */
function chunksOf(object: EncryptedObject): { segment: number; index: number; at: number; length: number }[] {
  const out: { segment: number; index: number; at: number; length: number }[] = [];
  let at = 0;
  object.envelope.segments.forEach((segment, s) => {
    at += object.envelope.headerLength;
    for (let i = 0; i < chunkCount(segment.plainSize, object.envelope.chunkSize); i += 1) {
      const length = chunkPlainLength(segment.plainSize, object.envelope.chunkSize, i) + CHUNK_TAG_BYTES;
      out.push({ segment: s, index: i, at, length });
      at += length;
    }
  });
  return out;
}

const objects = fc.record({
  chunkSize: fc.constantFrom(16, 32),
  parts: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 3 }),
  singlePut: fc.boolean(),
}).map(async ({ chunkSize, parts, singlePut }) => {
  const dataKey = await createDataKey(keyring, chunkSize);
  return singlePut
    ? encryptParts(dataKey, [plaintextOf(parts.reduce((a, b) => a + b, 0))], [0])
    : encryptParts(dataKey, parts.map((size, i) => plaintextOf(size, i)));
});

describe('bit flips', () => {
  test('a flipped bit anywhere in the stored bytes is detected by the reader of bytes alone', async () => {
    await fc.assert(fc.asyncProperty(objects, fc.nat(), fc.integer({ min: 0, max: 7 }), async (made, position, bit) => {
      const object = await made;
      const stored = Buffer.from(object.stored);
      const at = position % stored.length;
      stored[at] = (stored[at] as number) ^ (1 << bit);
      expectDetected(await fromBytes(stored), `flip at ${at}`);
    }), { numRuns: 400 });
  });

  test('every bit of a small multipart object, for both readers: detected, or (in key fields the recorded envelope replaces) harmless', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(20, 1), plaintextOf(16, 2)]);
    for (let at = 0; at < object.stored.length; at += 1) {
      for (const bit of [0, 7]) {
        const stored = Buffer.from(object.stored);
        stored[at] = (stored[at] as number) ^ (1 << bit);
        expectDetected(await fromBytes(stored), `flip at ${at}`);
        expectDetectedOrHarmless(await planned(object, stored), object, `flip at ${at}`);
        expectDetectedOrHarmless(await plannedWhole(object, stored), object, `flip at ${at}`);
      }
    }
  });

  test('the planned reader detects every flipped chunk byte', async () => {
    await fc.assert(fc.asyncProperty(objects, fc.nat(), fc.nat(), async (made, which, offset) => {
      const object = await made;
      const chunks = chunksOf(object);
      const chunk = chunks[which % chunks.length];
      if (!chunk) throw new Error('no chunk');
      const stored = Buffer.from(object.stored);
      const at = chunk.at + (offset % chunk.length);
      stored[at] = (stored[at] as number) ^ 0x10;
      expectDetected(await planned(object, stored), `flip at ${at}`);
      expectDetected(await plannedWhole(object, stored), `flip at ${at}`);
    }), { numRuns: 300 });
  });
});

describe('moved chunks', () => {
  const rearranged = objects.chain((made) => fc.tuple(fc.constant(made), fc.nat(), fc.nat(), fc.constantFrom('swap', 'duplicate', 'drop')));

  test('swapped, duplicated or dropped chunks are detected by both readers', async () => {
    await fc.assert(fc.asyncProperty(rearranged, async ([made, i, j, operation]) => {
      const object = await made;
      const chunks = chunksOf(object);
      const a = chunks[i % chunks.length];
      const b = chunks[j % chunks.length];
      if (!a || !b) throw new Error('no chunk');
      const bytes = (c: typeof a) => object.stored.subarray(c.at, c.at + c.length);
      const pieces: Buffer[] = [];
      let at = 0;
      for (const c of chunks) {
        pieces.push(object.stored.subarray(at, c.at));
        at = c.at + c.length;
        if (operation === 'swap' && c === a) pieces.push(bytes(b));
        else if (operation === 'swap' && c === b) pieces.push(bytes(a));
        else if (operation === 'duplicate' && c === a) pieces.push(bytes(a), bytes(a));
        else if (!(operation === 'drop' && c === a)) pieces.push(bytes(c));
      }
      const stored = Buffer.concat(pieces);
      if (stored.equals(object.stored)) return; // a swap of a chunk with itself, or of two equal ones
      expectDetected(await fromBytes(stored), operation);
      // A chunk repeated after the final one is outside the planned range: unseen, and harmless.
      expectDetected(await plannedWhole(object, stored), operation);
      if (fetchedRangeChanged(object, stored)) expectDetected(await planned(object, stored), operation);
      else expectDetectedOrHarmless(await planned(object, stored), object, operation);
    }), { numRuns: 300 });
  });

  test('parts swapped or repeated are refused by the reader of bytes alone', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(20, 1), plaintextOf(30, 2)]);
    const split = object.envelope.headerLength + 20 + 2 * CHUNK_TAG_BYTES;
    const [first, second] = [object.stored.subarray(0, split), object.stored.subarray(split)];
    expectDetected(await fromBytes(Buffer.concat([second, first])), 'swapped parts');
    expectDetected(await fromBytes(Buffer.concat([first, first, second])), 'repeated part');
    expectDetected(await planned(object, Buffer.concat([second, first])), 'swapped parts');
  });

  test('a damaged header inside a multipart object is an integrity error for the planned reader, not "not encrypted"', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(20, 1), plaintextOf(30, 2)]);
    const stored = Buffer.from(object.stored);
    stored[object.envelope.headerLength + 20 + 2 * CHUNK_TAG_BYTES] = 0x58;
    const error = await planned(object, stored);
    expect(error).toBeInstanceOf(CiphertextIntegrityError);
    expect((error as CiphertextIntegrityError).problem).toBe('header');
  });
});

describe('truncation', () => {
  test('cut at every byte, chunk boundaries included: detected', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(48, 1), plaintextOf(7, 2)]);
    const partBoundary = object.envelope.headerLength + 48 + 3 * CHUNK_TAG_BYTES;
    const boundaries = new Set(chunksOf(object).map((c) => c.at + c.length));
    let atChunkBoundary = 0;
    for (let length = 0; length < object.stored.length; length += 1) {
      const stored = object.stored.subarray(0, length);
      expectDetected(await planned(object, stored), `cut at ${length}`);
      expectDetected(await plannedWhole(object, stored), `cut at ${length}`);
      // A multipart object cut exactly after a whole part looks like an object with fewer parts:
      // only the recorded layout (above) can tell. Every other cut is visible in the bytes alone.
      if (length !== partBoundary) expectDetected(await fromBytes(stored), `cut at ${length}`);
      if (boundaries.has(length)) atChunkBoundary += 1;
    }
    expect(atChunkBoundary).toBe(3);
  });

  test('a single-PUT object cut after any whole chunk is detected (the final chunk is marked)', async () => {
    const object = encryptParts(await createDataKey(keyring, 4096), [plaintextOf(5 * 4096)], [0]);
    for (const chunk of chunksOf(object).slice(0, -1)) {
      const stored = object.stored.subarray(0, chunk.at + chunk.length);
      const error = await fromBytes(stored);
      expect(error).toBeInstanceOf(CiphertextIntegrityError);
      expect((error as CiphertextIntegrityError).problem).toBe('truncated');
      expectDetected(await planned(object, stored), `cut after chunk ${chunk.index}`);
    }
  });

  test('bytes appended after the object are detected', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(40)], [0]);
    for (const extra of [Buffer.from([0]), plaintextOf(16), object.stored]) {
      expectDetected(await fromBytes(Buffer.concat([object.stored, extra])), 'appended bytes');
      expectDetectedOrHarmless(await planned(object, Buffer.concat([object.stored, extra])), object, 'appended bytes');
      // A whole-object GET fetches everything the backend holds: the extra bytes are seen, and refused.
      expectDetected(await plannedWhole(object, Buffer.concat([object.stored, extra])), 'appended bytes');
    }
  });
});

describe('header tampering', () => {
  const fields: readonly [string, number, number][] = [
    ['magic', 0, 4], ['version', 4, 1], ['wrap scheme', 5, 1], ['header length', 6, 2], ['chunk size', 8, 4],
    ['part number', 12, 4], ['salt', 16, 16], ['key id', 32, 8], ['wrapped key length', 40, 2], ['wrapped key', 42, 40],
  ];

  test.each(fields)('%s changed: detected', async (_name, offset, length) => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(33)], [0]);
    for (const value of [0x00, 0x01, 0xff]) {
      const stored = Buffer.from(object.stored);
      stored.fill(value, offset, offset + length);
      if (stored.equals(object.stored)) continue;
      expectDetected(await fromBytes(stored), `header ${offset}`);
    }
  });

  test.each(fields.filter(([name]) => !['key id', 'wrapped key'].includes(name)))('%s changed: detected by the whole-object reader', async (_name, offset, length) => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(33)], [0]);
    for (const value of [0x00, 0x01, 0xff]) {
      const stored = Buffer.from(object.stored);
      stored.fill(value, offset, offset + length);
      if (stored.equals(object.stored)) continue;
      expectDetected(await plannedWhole(object, stored), `header ${offset}`);
    }
  });

  test('a chunk size field that still parses (32 for 16) fails authentication, not decryption into other bytes', async () => {
    const object = encryptParts(await createDataKey(keyring, 16), [plaintextOf(64)], [0]);
    const stored = Buffer.from(object.stored);
    stored.writeUInt32BE(32, 8);
    const error = await fromBytes(stored);
    expect(error).toBeInstanceOf(CiphertextIntegrityError);
    expect((error as CiphertextIntegrityError).problem).toBe('authentication');
  });
});

describe('a small read decrypted from one fetched buffer', () => {
  /** The plaintext, or the error's class, problem and message. */
  const outcome = async (read: () => Promise<Buffer>): Promise<string> => {
    try {
      return `bytes ${(await read()).toString('hex')}`;
    } catch (error) {
      const e = error as Error & { problem?: string };
      return `${e.name} ${String(e.problem)} ${e.message}`;
    }
  };

  test('gives exactly what the streamed decryptor gives, for every flipped bit, cut and appended byte', async () => {
    for (const [chunkSize, size] of [[16, 13], [16, 16], [32, 20], [16, 40]] as const) {
      const object = encryptParts(await createDataKey(keyring, chunkSize), [plaintextOf(size)], [0]);
      const dataKey = await openDataKey(keyring, object.envelope);
      const variants: Buffer[] = [object.stored, object.stored.subarray(0, object.stored.length - 1), Buffer.concat([object.stored, Buffer.from([0])])];
      for (let at = 0; at < object.stored.length; at += 1) {
        const flipped = Buffer.from(object.stored);
        flipped[at] = (flipped[at] as number) ^ 0x01;
        variants.push(flipped);
      }
      const plans: [ReadPlan | undefined, boolean][] = [[planWholeObject(object.envelope), true], [planFullRead(object.envelope), false], [planRange(object.envelope, 2, 5), false]];
      for (const [plan, whole] of plans) {
        if (!plan) throw new Error('test objects have plaintext');
        for (const stored of variants) {
          // A whole read fetches everything the backend holds; a ranged one the range (or less, when the object is shorter).
          const fetched = whole ? stored : stored.subarray(plan.backendRange.start, plan.backendRange.end + 1);
          const streamed = await outcome(() => runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), [fetched]));
          expect(await outcome(async () => Buffer.concat(decryptPlanned(plan, object.envelope, dataKey, [fetched])))).toBe(streamed);
          expect(await outcome(async () => Buffer.concat(decryptPlanned(plan, object.envelope, dataKey, splitInto(fetched, [7]))))).toBe(streamed);
        }
      }
    }
  });
});
