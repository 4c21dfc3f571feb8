import type { ChecksumName, PartChecksums, RequestedPart } from '../../../domain/s3/multipart.js';
import {
  assertNoStrayText,
  children,
  malformedXmlError,
  optionalText,
  parseRequestXml,
  requiredText,
  type XmlNode,
} from './safe-parse.js';

/** S3's limit on keys per DeleteObjects request. */
export const MAX_DELETE_OBJECTS = 1000;

const CHECKSUMS: readonly ChecksumName[] = ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'];

function integerText(text: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw malformedXmlError();
  return Number(trimmed);
}

function partOf(node: XmlNode): RequestedPart {
  assertNoStrayText(node);
  const part: RequestedPart = {
    partNumber: integerText(requiredText(node, 'PartNumber')),
    etag: requiredText(node, 'ETag').trim(),
  };
  const checksums: PartChecksums = {};
  let any = false;
  for (const name of CHECKSUMS) {
    const value = optionalText(node, name);
    if (value !== undefined) {
      checksums[name] = value.trim();
      any = true;
    }
  }
  if (any) part.checksums = checksums;
  return part;
}

/**
 * The parts of a CompleteMultipartUpload body, in document order. An empty list is returned
 * as such; completeMultipartUpload (domain) rejects it, and checks numbers, order and ETags.
 */
export function parseCompleteMultipartUpload(body: string | Uint8Array): RequestedPart[] {
  const root = parseRequestXml(body, 'CompleteMultipartUpload');
  assertNoStrayText(root);
  return children(root, 'Part').map(partOf);
}

/** One `<Object>` of a DeleteObjects body; ETag, LastModifiedTime and Size are conditional-delete fields. */
export interface DeleteObjectEntry {
  /** Exactly as sent: spaces, newlines and XML-special characters kept. */
  key: string;
  versionId?: string;
  etag?: string;
  lastModifiedTime?: string;
  size?: number;
}

export interface DeleteRequest {
  quiet: boolean;
  objects: DeleteObjectEntry[];
}

function objectOf(node: XmlNode): DeleteObjectEntry {
  assertNoStrayText(node);
  const entry: DeleteObjectEntry = { key: requiredText(node, 'Key') };
  const versionId = optionalText(node, 'VersionId');
  const etag = optionalText(node, 'ETag');
  const lastModifiedTime = optionalText(node, 'LastModifiedTime');
  const size = optionalText(node, 'Size');
  if (versionId !== undefined) entry.versionId = versionId;
  if (etag !== undefined) entry.etag = etag.trim();
  if (lastModifiedTime !== undefined) entry.lastModifiedTime = lastModifiedTime.trim();
  if (size !== undefined) entry.size = integerText(size);
  return entry;
}

/**
 * A DeleteObjects body: 1..1000 `<Object>`s (else MalformedXML, as S3), each with a `<Key>`;
 * `<Quiet>` true/false, default false.
 */
export function parseDeleteRequest(body: string | Uint8Array): DeleteRequest {
  const root = parseRequestXml(body, 'Delete');
  assertNoStrayText(root);
  const objects = children(root, 'Object');
  if (objects.length === 0 || objects.length > MAX_DELETE_OBJECTS) throw malformedXmlError();
  const quietText = optionalText(root, 'Quiet')?.trim().toLowerCase();
  if (quietText !== undefined && quietText !== 'true' && quietText !== 'false') throw malformedXmlError();
  return { quiet: quietText === 'true', objects: objects.map(objectOf) };
}
