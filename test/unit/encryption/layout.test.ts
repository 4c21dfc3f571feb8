import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  CHUNK_TAG_BYTES, chunkCount, chunkPlainLength, isConfigChunkSize, isFormatChunkSize, plainSize, segmentPlainSizeFromStored,
  segmentStoredSize, storedSize, type SegmentedLayout,
} from '../../../domain/encryption/layout.js';
import { planFullRead, planRange, plannedStoredBytes, planWholeObject } from '../../../domain/encryption/read-plan.js';

const H = 82;
const C = 4096;

describe('sizes', () => {
  test.each([
    [0, 1, H + 16],
    [1, 1, H + 1 + 16],
    [C - 1, 1, H + C - 1 + 16],
    [C, 1, H + C + 16],
    [C + 1, 2, H + C + 1 + 32],
    [10 * C + 7, 11, H + 10 * C + 7 + 11 * 16],
  ])('%i plaintext bytes: %i chunks, %i stored bytes', (plain, chunks, stored) => {
    expect(chunkCount(plain, C)).toBe(chunks);
    expect(segmentStoredSize(plain, C, H)).toBe(stored);
    expect(segmentPlainSizeFromStored(stored, C, H)).toBe(plain);
  });

  test('a multipart layout stores one header and its chunks per part', () => {
    const layout: SegmentedLayout = { chunkSize: C, headerLength: H, segments: [{ plainSize: 2 * C }, { plainSize: 5 }, { plainSize: 0 }] };
    expect(plainSize(layout)).toBe(2 * C + 5);
    expect(storedSize(layout)).toBe((H + 2 * C + 32) + (H + 5 + 16) + (H + 16));
  });

  test('stored size → plaintext size inverts every plaintext size, and rejects every stored size no plaintext has', () => {
    const chunk = 16;
    const valid = new Map<number, number>();
    for (let p = 0; p <= 8 * chunk; p += 1) valid.set(segmentStoredSize(p, chunk, H), p);
    const largest = segmentStoredSize(8 * chunk, chunk, H);
    for (let stored = 0; stored <= largest; stored += 1) {
      expect(segmentPlainSizeFromStored(stored, chunk, H)).toBe(valid.get(stored));
    }
  });

  test('chunk sizes: the format takes powers of two from 16 B to 1 MiB, the config from 4 KiB', () => {
    expect([16, 4096, 65_536, 1 << 20].every(isFormatChunkSize)).toBe(true);
    expect([0, 8, 100, 4095, 3 << 12, 2 << 20].some(isFormatChunkSize)).toBe(false);
    expect([4096, 65_536, 1 << 20].every(isConfigChunkSize)).toBe(true);
    expect([16, 2048, 6144, 2 << 20].some(isConfigChunkSize)).toBe(false);
  });
});

/** Which stored byte ranges a layout's chunks and headers occupy, computed by walking it. */
function walk(layout: SegmentedLayout) {
  const chunks: { segment: number; chunk: number; plainStart: number; plainLength: number; storedStart: number; final: boolean }[] = [];
  let plainAt = 0;
  let storedAt = 0;
  layout.segments.forEach((segment, s) => {
    storedAt += layout.headerLength;
    const n = chunkCount(segment.plainSize, layout.chunkSize);
    for (let i = 0; i < n; i += 1) {
      const length = chunkPlainLength(segment.plainSize, layout.chunkSize, i);
      chunks.push({ segment: s, chunk: i, plainStart: plainAt, plainLength: length, storedStart: storedAt, final: i === n - 1 });
      plainAt += length;
      storedAt += length + CHUNK_TAG_BYTES;
    }
  });
  return chunks;
}

const layouts = fc.record({
  chunkSize: fc.constantFrom(16, 32, 64),
  headerLength: fc.integer({ min: 43, max: 200 }),
  segments: fc.array(fc.record({ plainSize: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0, 16, 32, 64, 128)) }), { minLength: 1, maxLength: 5 }),
}).filter((layout) => plainSize(layout) > 0);

const layoutAndRange = layouts.chain((layout) => {
  const total = plainSize(layout);
  return fc.tuple(fc.constant(layout), fc.integer({ min: 0, max: total - 1 }), fc.integer({ min: 0, max: total - 1 }))
    .map(([l, a, b]) => ({ layout: l, start: Math.min(a, b), end: Math.max(a, b) }));
});

describe('range planning', () => {
  test('the plan fetches exactly the chunks holding the range, the headers between them, and nothing else', () => {
    fc.assert(fc.property(layoutAndRange, ({ layout, start, end }) => {
      const plan = planRange(layout, start, end);
      const chunks = walk(layout);
      const holds = (c: (typeof chunks)[number], at: number) => at >= c.plainStart && at < c.plainStart + c.plainLength;
      const first = chunks.find((c) => holds(c, start));
      const last = chunks.find((c) => holds(c, end));
      if (!first || !last) throw new Error('walk found no chunk');
      expect(plan.backendRange.start).toBe(first.storedStart);
      expect(plan.backendRange.end).toBe(last.storedStart + last.plainLength + CHUNK_TAG_BYTES - 1);
      expect(plan.skip).toBe(start - first.plainStart);
      expect(plan.length).toBe(end - start + 1);
      // The pieces account for every fetched byte, in order.
      const covered = chunks.filter((c) => c.storedStart >= first.storedStart && c.storedStart <= last.storedStart);
      expect(plan.pieces.flatMap((p) => Array.from({ length: p.lastChunk - p.firstChunk + 1 }, (_, i) => `${p.segment}/${p.firstChunk + i}`)))
        .toEqual(covered.map((c) => `${c.segment}/${c.chunk}`));
      const fetched = plan.pieces.reduce((sum, p) => sum + p.headerBytes, 0)
        + covered.reduce((sum, c) => sum + c.plainLength + CHUNK_TAG_BYTES, 0);
      expect(plannedStoredBytes(plan)).toBe(fetched);
      expect(plan.pieces[0]?.headerBytes).toBe(0);
      expect(plan.pieces.slice(1).every((p) => p.headerBytes === layout.headerLength)).toBe(true);
    }), { numRuns: 500 });
  });

  test('a range across a part boundary fetches the next part\'s header', () => {
    const layout: SegmentedLayout = { chunkSize: 16, headerLength: 50, segments: [{ plainSize: 40 }, { plainSize: 0 }, { plainSize: 20 }] };
    const plan = planRange(layout, 35, 44);
    expect(plan.pieces).toEqual([
      { segment: 0, headerBytes: 0, firstChunk: 2, lastChunk: 2 },
      { segment: 1, headerBytes: 50, firstChunk: 0, lastChunk: 0 },
      { segment: 2, headerBytes: 50, firstChunk: 0, lastChunk: 0 },
    ]);
    expect(plan.backendRange).toEqual({ start: 50 + 2 * 32, end: (50 + 40 + 48) + (50 + 16) + 50 + 16 + 16 - 1 });
    expect([plan.skip, plan.length]).toEqual([3, 10]);
  });

  test('ranges outside the object are refused; an empty object needs no read', () => {
    const layout: SegmentedLayout = { chunkSize: 16, headerLength: 50, segments: [{ plainSize: 10 }] };
    expect(() => planRange(layout, 0, 10)).toThrow(RangeError);
    expect(() => planRange(layout, 5, 4)).toThrow(RangeError);
    expect(() => planRange(layout, -1, 3)).toThrow(RangeError);
    expect(planFullRead({ ...layout, segments: [{ plainSize: 0 }] })).toBeUndefined();
    expect(planFullRead(layout)).toEqual(planRange(layout, 0, 9));
  });
});

describe('whole-object plan', () => {
  test('fetches every stored byte and covers every segment whole, empty ones included', () => {
    fc.assert(fc.property(
      fc.constantFrom(16, 32, 4096), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 4 }),
      (chunkSize, sizes) => {
        const layout: SegmentedLayout = { chunkSize, headerLength: H, segments: sizes.map((plainSize) => ({ plainSize })) };
        const whole = planWholeObject(layout);
        if (plainSize(layout) === 0) {
          expect(whole).toBeUndefined();
          return;
        }
        expect(whole?.backendRange).toEqual({ start: 0, end: storedSize(layout) - 1 });
        expect(whole?.pieces).toEqual(sizes.map((size, segment) => ({ segment, headerBytes: H, firstChunk: 0, lastChunk: chunkCount(size, chunkSize) - 1 })));
        const fetched = whole?.pieces.reduce((sum, p) => sum + p.headerBytes + chunkPlainLength(sizes[p.segment] as number, chunkSize, p.lastChunk) + CHUNK_TAG_BYTES
          + p.lastChunk * (chunkSize + CHUNK_TAG_BYTES), 0);
        expect(fetched).toBe(storedSize(layout));
        expect([whole?.skip, whole?.length]).toEqual([0, plainSize(layout)]);
      },
    ), { numRuns: 300 });
  });
});
