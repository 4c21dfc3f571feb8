import { createHash, type Hash } from 'node:crypto';
import type { ObjectVersion } from '../../domain/objects/object-state.js';

/**
 * The SHA-256 recorded for a multipart version: the digest of its parts' digests (concatenated in
 * part order) followed by `-<part count>`, the way S3 composes multipart checksums. Undefined when
 * a part has no digest (written before integrity was on).
 */
export function compositeSha256(partHexes: readonly (string | null | undefined)[]): string | undefined {
  if (partHexes.length === 0 || partHexes.some((h) => !h)) return undefined;
  const h = createHash('sha256');
  for (const hex of partHexes) h.update(Buffer.from(hex as string, 'hex'));
  return `${h.digest('hex')}-${partHexes.length}`;
}

/** Where a copy's bytes first differ from what was recorded. */
export interface HashMismatch {
  expectedSha256: string;
  actualSha256: string;
  /** The multipart part whose bytes differ. */
  partNumber?: number;
}

interface Segment {
  partNumber?: number;
  size: number;
  sha256: string;
}

/** What a full read of `v` can be checked against; undefined when no hash was recorded. */
function segmentsOf(v: ObjectVersion): Segment[] | undefined {
  if (v.contentSha256 === null) return undefined;
  if (v.parts && v.parts.length > 0 && v.contentSha256.includes('-')) {
    if (v.parts.some((p) => p.sha256 === undefined)) return undefined;
    return v.parts.map((p) => ({ partNumber: p.partNumber, size: p.size, sha256: p.sha256 as string }));
  }
  return [{ size: v.size, sha256: v.contentSha256 }];
}

export const hasRecordedHash = (v: ObjectVersion): boolean => segmentsOf(v) !== undefined;

/**
 * Hashes the plaintext of a full read of one version as it passes, part by part for a multipart
 * version, and compares with the recorded digests at the end. A read that ends short or long is
 * a mismatch too (the bytes are not the version's).
 */
export class ContentVerifier {
  private readonly segments: Segment[];
  private index = 0;
  private filled = 0;
  private hash: Hash = createHash('sha256');
  private mismatch: HashMismatch | undefined;
  private total = 0;

  constructor(private readonly version: ObjectVersion) {
    const segments = segmentsOf(version);
    if (!segments) throw new Error(`no SHA-256 recorded for version ${version.writeId}`);
    this.segments = segments;
  }

  update(chunk: Buffer): void {
    this.total += chunk.length;
    let offset = 0;
    while (offset < chunk.length && this.index < this.segments.length) {
      const seg = this.segments[this.index] as Segment;
      const take = Math.min(seg.size - this.filled, chunk.length - offset);
      this.hash.update(chunk.subarray(offset, offset + take));
      offset += take;
      this.filled += take;
      if (this.filled === seg.size) this.closeSegment();
    }
  }

  private closeSegment(): void {
    const seg = this.segments[this.index] as Segment;
    const actual = this.hash.digest('hex');
    if (actual !== seg.sha256 && !this.mismatch) {
      this.mismatch = { expectedSha256: seg.sha256, actualSha256: actual, ...(seg.partNumber !== undefined ? { partNumber: seg.partNumber } : {}) };
    }
    this.index++;
    this.filled = 0;
    this.hash = createHash('sha256');
  }

  /** After the last byte: undefined when every segment matched and the length is the version's. */
  finish(): HashMismatch | undefined {
    // Empty segments (a zero-byte object or part) close here.
    while (this.index < this.segments.length && (this.segments[this.index] as Segment).size === this.filled) {
      this.closeSegment();
    }
    if (this.mismatch) return this.mismatch;
    if (this.total !== this.version.size || this.index < this.segments.length) {
      const seg = this.segments[Math.min(this.index, this.segments.length - 1)] as Segment;
      return {
        expectedSha256: seg.sha256, actualSha256: this.hash.digest('hex'),
        ...(seg.partNumber !== undefined ? { partNumber: seg.partNumber } : {}),
      };
    }
    return undefined;
  }
}

/** The digests a version's bytes have, as ChecksumBackfilled records them. */
export interface ComputedDigests {
  contentSha256: string;
  parts: { partNumber: number; sha256: string }[] | null;
}

/**
 * Hashes the bytes of a version that has no recorded SHA-256 (the checksum backfill): the whole
 * object, or each part and their composite for a multipart version. Undefined when the byte count
 * is not the version's.
 */
export class DigestComputer {
  private readonly sizes: { partNumber: number; size: number }[] | undefined;
  private index = 0;
  private filled = 0;
  private total = 0;
  private hash: Hash = createHash('sha256');
  private readonly digests: string[] = [];

  constructor(private readonly version: ObjectVersion) {
    this.sizes = version.parts && version.parts.length > 0 ? version.parts.map((p) => ({ partNumber: p.partNumber, size: p.size })) : undefined;
  }

  update(chunk: Buffer): void {
    this.total += chunk.length;
    if (!this.sizes) {
      this.hash.update(chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length && this.index < this.sizes.length) {
      const size = (this.sizes[this.index] as { size: number }).size;
      const take = Math.min(size - this.filled, chunk.length - offset);
      this.hash.update(chunk.subarray(offset, offset + take));
      offset += take;
      this.filled += take;
      if (this.filled === size) this.closePart();
    }
  }

  private closePart(): void {
    this.digests.push(this.hash.digest('hex'));
    this.hash = createHash('sha256');
    this.index++;
    this.filled = 0;
  }

  finish(): ComputedDigests | undefined {
    if (this.total !== this.version.size) return undefined;
    if (!this.sizes) return { contentSha256: this.hash.digest('hex'), parts: null };
    while (this.index < this.sizes.length && (this.sizes[this.index] as { size: number }).size === this.filled) this.closePart();
    const parts = this.sizes.map((p, i) => ({ partNumber: p.partNumber, sha256: this.digests[i] as string }));
    return { contentSha256: compositeSha256(this.digests) as string, parts };
  }
}
