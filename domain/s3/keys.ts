import { DomainError } from '../errors.js';

/** S3's limit on an object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Length of `s` encoded as UTF-8, without allocating. */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Throws unless `key` is a key S3 would store: non-empty and at most 1024 UTF-8 bytes. */
export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new DomainError('InvalidArgument', 'Object key must not be empty.');
  if (utf8ByteLength(key) > MAX_KEY_BYTES) {
    throw new DomainError('KeyTooLongError', undefined, { Size: utf8ByteLength(key), MaxSizeAllowed: MAX_KEY_BYTES });
  }
}

/**
 * Throws 400 InvalidArgument when `value` holds a NUL character: no key, prefix, marker or id can
 * contain one (PostgreSQL text cannot store it), so it is refused before anything is looked up or
 * stored.
 */
export function rejectNul(value: string, argumentName: string): void {
  if (value.includes('\0')) {
    throw new DomainError('InvalidArgument', `${argumentName} must not contain a NUL character (%00).`, {
      ArgumentName: argumentName, ArgumentValue: value.replaceAll('\0', '%00'),
    });
  }
}

export interface PathTarget {
  /** Undefined for the service root `/` (ListBuckets). */
  bucket: string | undefined;
  /** Undefined for a bucket-level request (`/bucket` or `/bucket/`). */
  key: string | undefined;
}

function percentDecode(raw: string, onError: () => DomainError): string {
  // Without a '%' there is nothing to decode (decodeURIComponent showed in the small GET's profile).
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw onError();
  }
}

const invalidUri = (): DomainError => new DomainError('InvalidURI');

/**
 * Splits a path-style request target `/bucket/key…` into bucket and key, each percent-decoded as
 * UTF-8 (`+` stays a plus, `%2F` in the key is a slash). Anything from `?` on is ignored. The
 * key is returned as is — callers that create objects run `validateObjectKey` on it.
 */
export function parsePathStyle(target: string): PathTarget {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!path.startsWith('/')) throw new DomainError('InvalidURI');
  const rest = path.slice(1);
  if (rest === '') return { bucket: undefined, key: undefined };
  const slash = rest.indexOf('/');
  const rawBucket = slash === -1 ? rest : rest.slice(0, slash);
  const rawKey = slash === -1 ? '' : rest.slice(slash + 1);
  const bucket = percentDecode(rawBucket, invalidUri);
  if (bucket === '') throw invalidUri();
  const key = rawKey === '' ? undefined : percentDecode(rawKey, invalidUri);
  return { bucket, key };
}

export interface CopySource {
  bucket: string;
  key: string;
}

const copySourceError = (message: string, value: string): DomainError =>
  new DomainError('InvalidArgument', message, { ArgumentName: 'x-amz-copy-source', ArgumentValue: value });

/**
 * Parses `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded (the key alone or the
 * whole value), optionally followed by `?versionId=…`. Our buckets are unversioned, so as in an
 * unversioned S3 bucket the only version that exists is `null`; any other version id is
 * answered like S3 answers one that cannot exist there (400 InvalidArgument "Invalid version id
 * specified") rather than silently copying the current object.
 */
export function parseCopySource(header: string): CopySource {
  const queryAt = header.indexOf('?');
  const rawPath = queryAt === -1 ? header : header.slice(0, queryAt);
  if (queryAt !== -1) {
    for (const pair of header.slice(queryAt + 1).split('&')) {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      if (name !== 'versionId') continue;
      const value = percentDecode(eq === -1 ? '' : pair.slice(eq + 1), () => copySourceError('Invalid copy source encoding.', header));
      if (value !== 'null') {
        throw new DomainError('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: value });
      }
    }
  }
  // Decoded before it is split, as S3 does: `bucket%2Fkey` (the whole value URL-encoded, as
  // `encodeURIComponent('bucket/key')` gives it) names the same object as `bucket/key`.
  const decoded = percentDecode(rawPath, () => copySourceError('Invalid copy source encoding.', header));
  const path = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = path.indexOf('/');
  if (slash === -1) {
    throw copySourceError('Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', header);
  }
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  if (decoded.includes('\0')) throw copySourceError('Copy Source must not contain a NUL character (%00).', header);
  if (bucket === '') throw copySourceError('Invalid copy source bucket name', header);
  if (key === '') throw copySourceError('Invalid copy source object key', header);
  return { bucket, key };
}

export interface ByteSpan {
  start: number;
  /** Inclusive. */
  end: number;
}

const COPY_RANGE = /^bytes=(\d+)-(\d+)$/;

/**
 * Parses `x-amz-copy-source-range` (UploadPartCopy). Unlike a GET Range it must be absolute
 * (`bytes=first-last`): a malformed value or an inverted one is 400 InvalidArgument; a range
 * that does not lie inside the source cannot be satisfied, 416 InvalidRange.
 */
export function parseCopySourceRange(header: string, sourceSize: number): ByteSpan {
  const match = COPY_RANGE.exec(header.trim());
  if (!match) {
    throw new DomainError(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
    );
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end) {
    throw new DomainError('InvalidArgument', `Range specified is not valid for source object of size: ${sourceSize}`, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: header,
    });
  }
  if (end >= sourceSize) {
    throw new DomainError('InvalidRange', `The range ${header.trim()} is not inside the ${sourceSize}-byte copy source.`, {
      RangeRequested: header.trim(), ActualObjectSize: sourceSize,
    });
  }
  return { start, end };
}
