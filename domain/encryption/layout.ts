/**
 * Byte layout of an encrypted object (format v2), as pure arithmetic.
 *
 * A stored object is one or more *segments* back to back: one for a single PUT, one per part
 * for a multipart upload (so Complete needs no re-encryption). A segment is a header followed
 * by chunks; chunk i holds plaintext bytes [i·C, min((i+1)·C, P)) of the segment as AES-GCM
 * ciphertext followed by its 16-byte tag. Every segment has at least one chunk: an empty
 * segment is one empty final chunk (just a tag), so truncating a segment to its header is
 * detected like any other truncation.
 */

export const FORMAT_VERSION = 2;

/** The AES-GCM tag after every chunk's ciphertext. */
export const CHUNK_TAG_BYTES = 16;

/** Header bytes before the wrapped data key (see infra/crypto/segment-header.ts). */
export const HEADER_FIXED_BYTES = 42;

/** Chunk sizes the format can describe; the configuration allows a narrower range. */
export const FORMAT_MIN_CHUNK_SIZE = 16;
export const FORMAT_MAX_CHUNK_SIZE = 1 << 20;

/** `encryption.chunk_size`: a power of two from 4 KiB to 1 MiB. */
export const CONFIG_MIN_CHUNK_SIZE = 4096;
export const CONFIG_MAX_CHUNK_SIZE = 1 << 20;
export const DEFAULT_CHUNK_SIZE = 65_536;

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function isFormatChunkSize(n: number): boolean {
  return isPowerOfTwo(n) && n >= FORMAT_MIN_CHUNK_SIZE && n <= FORMAT_MAX_CHUNK_SIZE;
}

export function isConfigChunkSize(n: number): boolean {
  return isPowerOfTwo(n) && n >= CONFIG_MIN_CHUNK_SIZE && n <= CONFIG_MAX_CHUNK_SIZE;
}

/** Length of a segment header carrying a wrapped data key of `wrappedKeyLength` bytes. */
export function headerLengthFor(wrappedKeyLength: number): number {
  return HEADER_FIXED_BYTES + wrappedKeyLength;
}

/** What the arithmetic needs to know about an encrypted object (the envelope facts satisfy it). */
export interface SegmentedLayout {
  readonly chunkSize: number;
  /** The same for every segment of one object version: all carry the same wrapped key. */
  readonly headerLength: number;
  readonly segments: readonly { readonly plainSize: number }[];
}

export function chunkCount(plainSize: number, chunkSize: number): number {
  return plainSize === 0 ? 1 : Math.ceil(plainSize / chunkSize);
}

/** Plaintext bytes in chunk `index` of a segment of `plainSize` bytes. */
export function chunkPlainLength(plainSize: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, plainSize - index * chunkSize);
}

export function segmentStoredSize(plainSize: number, chunkSize: number, headerLength: number): number {
  return headerLength + plainSize + chunkCount(plainSize, chunkSize) * CHUNK_TAG_BYTES;
}

export function storedSize(layout: SegmentedLayout): number {
  let total = 0;
  for (const segment of layout.segments) total += segmentStoredSize(segment.plainSize, layout.chunkSize, layout.headerLength);
  return total;
}

export function plainSize(layout: SegmentedLayout): number {
  let total = 0;
  for (const segment of layout.segments) total += segment.plainSize;
  return total;
}

/**
 * The plaintext size of a single segment stored in `stored` bytes, or undefined when no
 * plaintext size encrypts to exactly that many bytes (the stored object is damaged, or is
 * not one segment).
 */
export function segmentPlainSizeFromStored(stored: number, chunkSize: number, headerLength: number): number | undefined {
  const body = stored - headerLength;
  if (!Number.isSafeInteger(body) || body < CHUNK_TAG_BYTES) return undefined;
  const fullChunks = Math.floor(body / (chunkSize + CHUNK_TAG_BYTES));
  const rest = body - fullChunks * (chunkSize + CHUNK_TAG_BYTES);
  if (rest === 0) return fullChunks * chunkSize;
  if (rest < CHUNK_TAG_BYTES) return undefined;
  // A final chunk with no plaintext only exists in an empty segment.
  if (rest === CHUNK_TAG_BYTES && fullChunks > 0) return undefined;
  return fullChunks * chunkSize + rest - CHUNK_TAG_BYTES;
}
