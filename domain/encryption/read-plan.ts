/**
 * Read planning: which stored bytes a plaintext range needs. A read fetches one contiguous
 * backend range, from the first chunk that holds the range's first byte to the end of the chunk
 * that holds its last byte — across segment boundaries, in which case the headers of the later
 * segments (and any empty segments in between) are inside the fetched bytes. Whole chunks are
 * decrypted (a tag covers the whole chunk); the plan says how much plaintext to drop from the
 * first and how much to deliver.
 */
import { CHUNK_TAG_BYTES, chunkCount, chunkPlainLength, plainSize, segmentStoredSize, storedSize, type SegmentedLayout } from './layout.js';

/** The part of one segment a read covers. */
export interface PlannedSegment {
  /** Index into the layout's segments. */
  readonly segment: number;
  /** Header bytes that precede this segment's first chunk in the fetched bytes: 0 for the first piece (the fetch starts at a chunk). */
  readonly headerBytes: number;
  readonly firstChunk: number;
  /** Inclusive. */
  readonly lastChunk: number;
}

export interface ReadPlan {
  /** Offsets into the stored object, both inclusive (as in an HTTP Range). */
  readonly backendRange: { readonly start: number; readonly end: number };
  readonly pieces: readonly PlannedSegment[];
  /** Plaintext bytes to drop from the start of the first decrypted chunk. */
  readonly skip: number;
  /** Plaintext bytes to deliver after the skip. */
  readonly length: number;
}

interface SegmentOffsets {
  /** Plaintext offset of each segment's first byte. */
  readonly plain: readonly number[];
  /** Stored offset of each segment's header. */
  readonly stored: readonly number[];
  readonly totalPlain: number;
}

function offsetsOf(layout: SegmentedLayout): SegmentOffsets {
  const plain: number[] = [];
  const stored: number[] = [];
  let plainAt = 0;
  let storedAt = 0;
  for (const segment of layout.segments) {
    plain.push(plainAt);
    stored.push(storedAt);
    plainAt += segment.plainSize;
    storedAt += segmentStoredSize(segment.plainSize, layout.chunkSize, layout.headerLength);
  }
  return { plain, stored, totalPlain: plainAt };
}

/**
 * The segment holding plaintext byte `at`: the last one starting at or before it (an empty
 * segment starts where the next one does, so it is never the last such one).
 */
function segmentHolding(offsets: SegmentOffsets, at: number): number {
  let low = 0;
  let high = offsets.plain.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if ((offsets.plain[mid] as number) <= at) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Stored offset, inside its segment, of chunk `index`. */
function chunkStoredOffset(layout: SegmentedLayout, index: number): number {
  return layout.headerLength + index * (layout.chunkSize + CHUNK_TAG_BYTES);
}

/**
 * Plans the read of plaintext bytes `start`..`end` (inclusive, as resolved from a Range header)
 * of an object with this layout. Throws a RangeError for a range outside the object.
 */
export function planRange(layout: SegmentedLayout, start: number, end: number): ReadPlan {
  const offsets = offsetsOf(layout);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= offsets.totalPlain) {
    throw new RangeError(`range ${start}-${end} is outside a ${offsets.totalPlain}-byte object`);
  }
  const chunkSize = layout.chunkSize;
  const first = segmentHolding(offsets, start);
  const last = segmentHolding(offsets, end);
  const firstChunk = Math.floor((start - (offsets.plain[first] as number)) / chunkSize);
  const lastChunk = Math.floor((end - (offsets.plain[last] as number)) / chunkSize);

  const pieces: PlannedSegment[] = [];
  for (let segment = first; segment <= last; segment += 1) {
    const size = layout.segments[segment]?.plainSize ?? 0;
    pieces.push({
      segment,
      headerBytes: segment === first ? 0 : layout.headerLength,
      firstChunk: segment === first ? firstChunk : 0,
      lastChunk: segment === last ? lastChunk : chunkCount(size, chunkSize) - 1,
    });
  }
  const lastSize = layout.segments[last]?.plainSize ?? 0;
  const backendStart = (offsets.stored[first] as number) + chunkStoredOffset(layout, firstChunk);
  const backendEnd = (offsets.stored[last] as number) + chunkStoredOffset(layout, lastChunk)
    + chunkPlainLength(lastSize, chunkSize, lastChunk) + CHUNK_TAG_BYTES - 1;
  return {
    backendRange: { start: backendStart, end: backendEnd },
    pieces,
    skip: start - (offsets.plain[first] as number) - firstChunk * chunkSize,
    length: end - start + 1,
  };
}

/** The plan for a whole object, or undefined when it has no plaintext (nothing to fetch). */
export function planFullRead(layout: SegmentedLayout): ReadPlan | undefined {
  const total = offsetsOf(layout).totalPlain;
  return total === 0 ? undefined : planRange(layout, 0, total - 1);
}

/**
 * The plan for a whole object fetched whole (no Range: the backend answers a plain GET, as for a
 * plaintext object): every segment, its header and all its chunks — empty segments' too, so all
 * the fetched bytes are checked — or undefined when there is no plaintext.
 */
export function planWholeObject(layout: SegmentedLayout): ReadPlan | undefined {
  const total = plainSize(layout);
  if (total === 0) return undefined;
  return {
    backendRange: { start: 0, end: storedSize(layout) - 1 },
    pieces: layout.segments.map((segment, index) => ({
      segment: index, headerBytes: layout.headerLength, firstChunk: 0, lastChunk: chunkCount(segment.plainSize, layout.chunkSize) - 1,
    })),
    skip: 0,
    length: total,
  };
}

/** Stored bytes the plan fetches: the length of its backend range. */
export function plannedStoredBytes(plan: ReadPlan): number {
  return plan.backendRange.end - plan.backendRange.start + 1;
}
