import { DomainError } from '../errors.js';
import { multipartEtag, unquoteEtag, type Md5Hex } from './etag.js';

export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10_000;
/** Every part but the last must be at least this large. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest object: 5 TiB. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4;

export type ChecksumName = 'ChecksumCRC32' | 'ChecksumCRC32C' | 'ChecksumCRC64NVME' | 'ChecksumSHA1' | 'ChecksumSHA256';
export type PartChecksums = Partial<Record<ChecksumName, string>>;

export interface UploadedPart {
  partNumber: number;
  /** The part's MD5, hex, quoted or not. */
  etag: string;
  size: number;
  checksums?: PartChecksums;
}

/** One `<Part>` of a CompleteMultipartUpload body. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
  checksums?: PartChecksums;
}

export interface CompletedUpload {
  /** The chosen uploaded parts, in order. */
  parts: UploadedPart[];
  totalSize: number;
  /** Unquoted, `<hex>-<N>`. */
  etag: string;
}

export interface CompletionLimits {
  md5: Md5Hex;
  minPartSize?: number;
  maxObjectSize?: number;
}

const partNumberError = (value: string): DomainError =>
  new DomainError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
    ArgumentName: 'partNumber',
    ArgumentValue: value,
  });

/** The `partNumber` query parameter of UploadPart / UploadPartCopy: an integer 1..10000. */
export function parsePartNumber(raw: string | undefined): number {
  if (raw === undefined || !/^\d+$/.test(raw)) throw partNumberError(raw ?? '');
  const n = Number(raw);
  if (n < MIN_PART_NUMBER || n > MAX_PART_NUMBER) throw partNumberError(raw);
  return n;
}

const normaliseEtag = (etag: string): string => unquoteEtag(etag.trim()).toLowerCase();

function checksumsAgree(requested: PartChecksums | undefined, uploaded: PartChecksums | undefined): boolean {
  if (requested === undefined || uploaded === undefined) return true;
  for (const [name, value] of Object.entries(requested) as [ChecksumName, string][]) {
    const stored = uploaded[name];
    if (stored !== undefined && stored !== value) return false;
  }
  return true;
}

/**
 * Validates a CompleteMultipartUpload against the parts actually uploaded, in S3's order of
 * checks: at least one part (MalformedXML); part numbers 1..10000 (InvalidArgument); strictly
 * ascending (InvalidPartOrder; a repeated number is out of order too); each part uploaded with
 * a matching ETag, compared without quotes and case (InvalidPart); every part but the last
 * ≥ 5 MiB (EntityTooSmall); total ≤ 5 TiB (EntityTooLarge). Returns the chosen parts, their total
 * size and the multipart ETag.
 */
export function completeMultipartUpload(
  uploaded: readonly UploadedPart[],
  requested: readonly RequestedPart[],
  limits: CompletionLimits,
): CompletedUpload {
  if (requested.length === 0) {
    throw new DomainError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  for (const part of requested) {
    if (!Number.isInteger(part.partNumber) || part.partNumber < MIN_PART_NUMBER || part.partNumber > MAX_PART_NUMBER) {
      throw partNumberError(String(part.partNumber));
    }
  }
  for (let i = 1; i < requested.length; i++) {
    const previous = requested[i - 1];
    const current = requested[i];
    if (previous !== undefined && current !== undefined && current.partNumber <= previous.partNumber) {
      throw new DomainError('InvalidPartOrder');
    }
  }
  const byNumber = new Map(uploaded.map((p) => [p.partNumber, p]));
  const chosen: UploadedPart[] = requested.map((want) => {
    const have = byNumber.get(want.partNumber);
    if (have === undefined || normaliseEtag(have.etag) !== normaliseEtag(want.etag) || !checksumsAgree(want.checksums, have.checksums)) {
      throw new DomainError('InvalidPart', undefined, { PartNumber: want.partNumber, ETag: want.etag });
    }
    return have;
  });
  const minPartSize = limits.minPartSize ?? MIN_PART_SIZE;
  let totalSize = 0;
  chosen.forEach((part, i) => {
    if (i < chosen.length - 1 && part.size < minPartSize) {
      throw new DomainError('EntityTooSmall', undefined, {
        ProposedSize: part.size,
        MinSizeAllowed: minPartSize,
        PartNumber: part.partNumber,
        ETag: unquoteEtag(part.etag),
      });
    }
    totalSize += part.size;
  });
  const maxObjectSize = limits.maxObjectSize ?? MAX_OBJECT_SIZE;
  if (totalSize > maxObjectSize) {
    throw new DomainError('EntityTooLarge', undefined, { ProposedSize: totalSize, MaxSizeAllowed: maxObjectSize });
  }
  return { parts: chosen, totalSize, etag: multipartEtag(chosen.map((p) => p.etag), limits.md5) };
}
