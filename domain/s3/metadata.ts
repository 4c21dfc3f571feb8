import { DomainError } from '../errors.js';
import { firstValue, type QueryParams, type RequestHeaders } from './http-types.js';

export const USER_METADATA_PREFIX = 'x-amz-meta-';
/** S3's limit on user metadata: names (without the prefix) plus values, in bytes. */
export const MAX_USER_METADATA_BYTES = 2048;
/** What S3 stores when a PUT carries no Content-Type. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

/** The system headers S3 stores with an object and returns on GET/HEAD. */
export interface StoredHeaders {
  contentType: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  expires?: string;
}

export interface ObjectMetadata {
  /** Names lower-cased without `x-amz-meta-`; values exactly as received (see extractUserMetadata). */
  user: Record<string, string>;
  headers: StoredHeaders;
}

/**
 * Bytes the value had on the wire. Node decodes header bytes as latin-1, one char per byte, so
 * a UTF-8 value arrives as its bytes; chars above U+00FF can only come from elsewhere and are
 * counted as their UTF-8 length.
 */
function wireByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit <= 0xff) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The `x-amz-meta-*` headers: names lower-cased and stripped of the prefix, repeated headers
 * joined with `,` as S3 does. Values are kept as the latin-1 strings Node produced — i.e. the
 * raw header bytes — and the gateway must re-emit them byte-identically (write them back as
 * latin-1), so non-ASCII metadata round-trips without being re-encoded. Throws MetadataTooLarge
 * when names plus values exceed 2 KiB.
 */
export function extractUserMetadata(headers: RequestHeaders): Record<string, string> {
  const user: Record<string, string> = {};
  let total = 0;
  // for…in, not Object.entries: no pair array per header, and most requests carry no metadata.
  for (const rawName in headers) {
    const rawValue = headers[rawName];
    const name = rawName.toLowerCase();
    if (!name.startsWith(USER_METADATA_PREFIX) || rawValue === undefined) continue;
    const key = name.slice(USER_METADATA_PREFIX.length);
    if (key === '') continue;
    const value = typeof rawValue === 'string' ? rawValue : rawValue.join(',');
    const previous = user[key];
    user[key] = previous === undefined ? value : `${previous},${value}`;
  }
  for (const key in user) total += wireByteLength(key) + wireByteLength(user[key] as string);
  if (total > MAX_USER_METADATA_BYTES) {
    throw new DomainError('MetadataTooLarge', undefined, { Size: total, MaxSizeAllowed: MAX_USER_METADATA_BYTES });
  }
  return user;
}

/**
 * Content-Encoding without `aws-chunked`, which describes the upload framing, not the object;
 * S3 drops it and stores the rest (`aws-chunked,gzip` → `gzip`), or nothing when it was alone.
 * A value without it is stored as sent.
 */
export function stripAwsChunked(contentEncoding: string | undefined): string | undefined {
  if (contentEncoding === undefined) return undefined;
  const codings = contentEncoding.split(',').map((c) => c.trim());
  if (!codings.some((c) => c.toLowerCase() === 'aws-chunked')) return contentEncoding;
  const kept = codings.filter((c) => c !== '' && c.toLowerCase() !== 'aws-chunked');
  return kept.length === 0 ? undefined : kept.join(', ');
}

/**
 * A list-valued header sent on several lines is one list, as HTTP defines it (RFC 9110 §5.3):
 * `Content-Encoding: deflate` and `Content-Encoding: gzip` are `deflate, gzip`.
 */
function listValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

/** The system headers S3 stores from a PutObject / CreateMultipartUpload / CopyObject REPLACE. */
export function extractStoredHeaders(headers: RequestHeaders): StoredHeaders {
  const stored: StoredHeaders = { contentType: firstValue(headers['content-type']) || DEFAULT_CONTENT_TYPE };
  const cacheControl = listValue(headers['cache-control']);
  const contentDisposition = firstValue(headers['content-disposition']);
  const contentEncoding = stripAwsChunked(listValue(headers['content-encoding']));
  const contentLanguage = listValue(headers['content-language']);
  const expires = firstValue(headers['expires']);
  if (cacheControl !== undefined) stored.cacheControl = cacheControl;
  if (contentDisposition !== undefined) stored.contentDisposition = contentDisposition;
  if (contentEncoding !== undefined) stored.contentEncoding = contentEncoding;
  if (contentLanguage !== undefined) stored.contentLanguage = contentLanguage;
  if (expires !== undefined) stored.expires = expires;
  return stored;
}

/** User metadata and stored system headers of a request that creates an object. */
export function extractObjectMetadata(headers: RequestHeaders): ObjectMetadata {
  return { user: extractUserMetadata(headers), headers: extractStoredHeaders(headers) };
}

const OVERRIDES = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
] as const;

export type OverridableHeader = (typeof OVERRIDES)[number][1];

/**
 * GetObject's `response-*` query parameters, as response header name → value; they replace the
 * stored values in a successful GET/HEAD response.
 */
export function responseHeaderOverrides(query: QueryParams): Partial<Record<OverridableHeader, string>> {
  const overrides: Partial<Record<OverridableHeader, string>> = {};
  for (const [param, header] of OVERRIDES) {
    const value = firstValue(query[param]);
    if (value !== undefined) overrides[header] = value;
  }
  return overrides;
}

export type MetadataDirective = 'COPY' | 'REPLACE';

/** `x-amz-metadata-directive`: COPY (the default) or REPLACE; anything else is 400. */
export function parseMetadataDirective(value: string | undefined): MetadataDirective {
  if (value === undefined || value === 'COPY') return 'COPY';
  if (value === 'REPLACE') return 'REPLACE';
  throw new DomainError('InvalidArgument', 'Unknown metadata directive.', {
    ArgumentName: 'x-amz-metadata-directive',
    ArgumentValue: value,
  });
}

export interface CopyMetadataInput {
  source: ObjectMetadata;
  requestHeaders: RequestHeaders;
  /** Source and destination are the same bucket and key. */
  sameObject: boolean;
  /**
   * The request changes something else S3 counts as a change (storage class, encryption,
   * website redirect); such a copy onto itself is legal under COPY.
   */
  changesOtherAttributes?: boolean;
}

/**
 * The metadata a CopyObject gives its destination: the source's under COPY, the request's under
 * REPLACE. Copying an object onto itself without changing anything is 400 InvalidRequest.
 */
export function resolveCopyMetadata(input: CopyMetadataInput): ObjectMetadata {
  const directive = parseMetadataDirective(firstValue(input.requestHeaders['x-amz-metadata-directive']));
  if (directive === 'REPLACE') return extractObjectMetadata(input.requestHeaders);
  if (input.sameObject && input.changesOtherAttributes !== true) {
    throw new DomainError(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  return { user: { ...input.source.user }, headers: { ...input.source.headers } };
}
