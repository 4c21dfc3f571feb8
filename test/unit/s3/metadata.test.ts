import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../../domain/errors.js';
import {
  DEFAULT_CONTENT_TYPE,
  extractObjectMetadata,
  extractStoredHeaders,
  extractUserMetadata,
  parseMetadataDirective,
  resolveCopyMetadata,
  responseHeaderOverrides,
  stripAwsChunked,
  type ObjectMetadata,
} from '../../../domain/s3/metadata.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isDomainError(e) ? e.code : 'not a DomainError';
  }
  return undefined;
}

describe('extractUserMetadata', () => {
  it('given x-amz-meta-* headers, then names lose the prefix and are lower-cased; other headers are ignored', () => {
    expect(
      extractUserMetadata({ 'X-Amz-Meta-Color': 'Blue', 'x-amz-meta-size': '10', 'content-type': 'text/plain', 'x-amz-acl': 'private' }),
    ).toEqual({ color: 'Blue', size: '10' });
  });

  it('given a UTF-8 value as Node delivers it (latin-1 decoded bytes), then it is kept byte for byte', () => {
    const wire = Buffer.from('café ☕', 'utf8').toString('latin1');
    const user = extractUserMetadata({ 'x-amz-meta-drink': wire });
    expect(user['drink']).toBe(wire);
    expect(Buffer.from(user['drink'] ?? '', 'latin1').toString('utf8')).toBe('café ☕');
  });

  it('given a repeated header, then the values are joined with commas', () => {
    expect(extractUserMetadata({ 'x-amz-meta-tag': ['a', 'b'] })).toEqual({ tag: 'a,b' });
  });

  it('given values and names summing to exactly 2048 bytes, then accepted; 2049 → MetadataTooLarge', () => {
    const name = 'k'; // 1 byte
    expect(Object.keys(extractUserMetadata({ [`x-amz-meta-${name}`]: 'v'.repeat(2047) }))).toEqual(['k']);
    expect(codeOf(() => extractUserMetadata({ [`x-amz-meta-${name}`]: 'v'.repeat(2048) }))).toBe('MetadataTooLarge');
  });

  it('given multi-byte UTF-8 values, then the limit counts wire bytes, not characters', () => {
    const twoBytes = Buffer.from('é', 'utf8').toString('latin1'); // 2 chars on the wire
    expect(codeOf(() => extractUserMetadata({ 'x-amz-meta-a': twoBytes.repeat(1024) }))).toBe('MetadataTooLarge');
    expect(codeOf(() => extractUserMetadata({ 'x-amz-meta-a': twoBytes.repeat(1023) }))).toBeUndefined();
  });

  it('given the limit spread over many headers, then the sum is what counts', () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 100; i++) headers[`x-amz-meta-k${String(i).padStart(2, '0')}`] = 'x'.repeat(18); // 3+18 = 21 bytes each
    expect(codeOf(() => extractUserMetadata(headers))).toBe('MetadataTooLarge');
  });
});

describe('stored system headers', () => {
  it('given no Content-Type, then S3’s default binary/octet-stream', () => {
    expect(extractStoredHeaders({}).contentType).toBe('binary/octet-stream');
    expect(DEFAULT_CONTENT_TYPE).toBe('binary/octet-stream');
    expect(extractStoredHeaders({ 'content-type': '' }).contentType).toBe('binary/octet-stream');
  });

  it('given every stored header, then all are kept as sent', () => {
    expect(
      extractStoredHeaders({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'max-age=60',
        'content-disposition': 'attachment; filename="a b.txt"',
        'content-encoding': 'gzip',
        'content-language': 'en-GB',
        expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
      }),
    ).toEqual({
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'max-age=60',
      contentDisposition: 'attachment; filename="a b.txt"',
      contentEncoding: 'gzip',
      contentLanguage: 'en-GB',
      expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
    });
  });

  it.each([
    ['aws-chunked', undefined],
    ['aws-chunked,gzip', 'gzip'],
    ['gzip, aws-chunked', 'gzip'],
    ['AWS-CHUNKED', undefined],
    ['gzip,br', 'gzip,br'],
    [undefined, undefined],
  ])('given Content-Encoding %j, then S3 stores %j', (input, expected) => {
    expect(stripAwsChunked(input)).toBe(expected);
    const stored = extractStoredHeaders(input === undefined ? {} : { 'content-encoding': input });
    expect(stored.contentEncoding).toBe(expected);
  });

  it('given list-valued headers sent on several lines, then each is stored as one list', () => {
    expect(extractStoredHeaders({
      'content-encoding': ['deflate', 'gzip'], 'cache-control': ['no-cache', 'max-age=0'], 'content-language': ['de', 'en'],
      'content-type': ['text/plain', 'text/html'],
    })).toEqual({ contentType: 'text/plain', contentEncoding: 'deflate, gzip', cacheControl: 'no-cache, max-age=0', contentLanguage: 'de, en' });
    expect(extractStoredHeaders({ 'content-encoding': ['aws-chunked', 'gzip'] }).contentEncoding).toBe('gzip');
  });
});

describe('responseHeaderOverrides', () => {
  it('given response-* query parameters, then the matching response headers', () => {
    expect(
      responseHeaderOverrides({
        'response-content-type': 'text/plain',
        'response-content-language': 'fr',
        'response-expires': 'Thu, 01 Jan 2026 00:00:00 GMT',
        'response-cache-control': 'no-cache',
        'response-content-disposition': 'inline',
        'response-content-encoding': 'identity',
        'x-id': 'GetObject',
      }),
    ).toEqual({
      'content-type': 'text/plain',
      'content-language': 'fr',
      expires: 'Thu, 01 Jan 2026 00:00:00 GMT',
      'cache-control': 'no-cache',
      'content-disposition': 'inline',
      'content-encoding': 'identity',
    });
  });

  it('given none, then no overrides', () => {
    expect(responseHeaderOverrides({ prefix: 'x' })).toEqual({});
  });
});

describe('CopyObject metadata directive', () => {
  const source: ObjectMetadata = { user: { a: '1' }, headers: { contentType: 'text/plain', cacheControl: 'no-store' } };

  it.each([
    [undefined, 'COPY'],
    ['COPY', 'COPY'],
    ['REPLACE', 'REPLACE'],
  ])('given %j, then %s', (value, expected) => {
    expect(parseMetadataDirective(value)).toBe(expected);
  });

  it.each(['copy', 'REPLAC', '', 'MERGE'])('given the invalid directive %j, then 400 InvalidArgument', (value) => {
    expect(codeOf(() => parseMetadataDirective(value))).toBe('InvalidArgument');
  });

  it('given COPY onto another key, then the source metadata and headers are copied and request headers ignored', () => {
    const out = resolveCopyMetadata({
      source,
      requestHeaders: { 'x-amz-meta-b': '2', 'content-type': 'image/png' },
      sameObject: false,
    });
    expect(out).toEqual(source);
    expect(out.user).not.toBe(source.user);
  });

  it('given REPLACE, then metadata and headers come from the request (default content type included)', () => {
    const out = resolveCopyMetadata({
      source,
      requestHeaders: { 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-b': '2' },
      sameObject: true,
    });
    expect(out).toEqual({ user: { b: '2' }, headers: { contentType: 'binary/octet-stream' } });
  });

  it('given a copy onto itself without REPLACE, then 400 InvalidRequest with S3’s message', () => {
    let error: unknown;
    try {
      resolveCopyMetadata({ source, requestHeaders: {}, sameObject: true });
    } catch (e) {
      error = e;
    }
    expect(isDomainError(error) && error.code).toBe('InvalidRequest');
    expect((error as Error).message).toMatch(/^This copy request is illegal because it is trying to copy an object to itself without changing/);
  });

  it('given a copy onto itself that changes another attribute (e.g. storage class), then COPY is legal', () => {
    expect(resolveCopyMetadata({ source, requestHeaders: {}, sameObject: true, changesOtherAttributes: true })).toEqual(source);
  });

  it('given REPLACE with too much metadata, then MetadataTooLarge', () => {
    expect(
      codeOf(() => extractObjectMetadata({ 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-big': 'x'.repeat(3000) })),
    ).toBe('MetadataTooLarge');
  });
});
