import { describe, expect, it } from 'vitest';
import { errorOf } from '../../support/domain-errors.js';
import {
  MAX_KEY_BYTES,
  parseCopySource,
  parseCopySourceRange,
  parsePathStyle,
  utf8ByteLength,
  validateObjectKey,
} from '../../../domain/s3/keys.js';


describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['a😀é€', 10],
  ])('%j is %d bytes, as Buffer.byteLength says', (s, n) => {
    expect(utf8ByteLength(s)).toBe(n);
    expect(utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
  });
});

describe('validateObjectKey', () => {
  it('given 1024 bytes, then accepted; 1025 → KeyTooLongError', () => {
    expect(() => validateObjectKey('a'.repeat(MAX_KEY_BYTES))).not.toThrow();
    expect(errorOf(() => validateObjectKey('a'.repeat(MAX_KEY_BYTES + 1))).code).toBe('KeyTooLongError');
  });

  it('given multi-byte characters, then the limit is in UTF-8 bytes', () => {
    expect(() => validateObjectKey('€'.repeat(341))).not.toThrow(); // 1023 bytes
    expect(errorOf(() => validateObjectKey('€'.repeat(342))).code).toBe('KeyTooLongError'); // 1026 bytes
  });

  it('given an empty key, then InvalidArgument', () => {
    expect(errorOf(() => validateObjectKey('')).code).toBe('InvalidArgument');
  });
});

describe('parsePathStyle', () => {
  it.each([
    ['/', { bucket: undefined, key: undefined }],
    ['/bucket', { bucket: 'bucket', key: undefined }],
    ['/bucket/', { bucket: 'bucket', key: undefined }],
    ['/bucket?list-type=2', { bucket: 'bucket', key: undefined }],
    ['/bucket/key', { bucket: 'bucket', key: 'key' }],
    ['/bucket/a/b/c.txt', { bucket: 'bucket', key: 'a/b/c.txt' }],
    ['/bucket/a%2Fb', { bucket: 'bucket', key: 'a/b' }],
    ['/bucket/a+b', { bucket: 'bucket', key: 'a+b' }],
    ['/bucket/a%20b', { bucket: 'bucket', key: 'a b' }],
    ['/bucket/caf%C3%A9', { bucket: 'bucket', key: 'café' }],
    ['/bucket/%F0%9F%98%80', { bucket: 'bucket', key: '😀' }],
    ['/bucket/dir/', { bucket: 'bucket', key: 'dir/' }],
    ['/bucket//double', { bucket: 'bucket', key: '/double' }],
    ['/bucket/%26%3C%3E%22%27', { bucket: 'bucket', key: '&<>"\'' }],
    ['/bucket/a%3Fb?uploads', { bucket: 'bucket', key: 'a?b' }],
    ['/bucket/%20lead%20and%20trail%20', { bucket: 'bucket', key: ' lead and trail ' }],
    ['/bucket/..%2F..', { bucket: 'bucket', key: '../..' }],
  ])('given %j, then %j', (path, expected) => {
    expect(parsePathStyle(path)).toEqual(expected);
  });

  it.each(['/bucket/%', '/bucket/%zz', '/bucket/%C3', '/%FF/key', 'bucket/key', '//key'])(
    'given the unparsable target %j, then InvalidURI',
    (path) => {
      expect(errorOf(() => parsePathStyle(path)).code).toBe('InvalidURI');
    },
  );
});

describe('parseCopySource', () => {
  it.each([
    ['bucket/key', { bucket: 'bucket', key: 'key' }],
    ['/bucket/key', { bucket: 'bucket', key: 'key' }],
    ['/bucket/a/b/c', { bucket: 'bucket', key: 'a/b/c' }],
    ['bucket/a%20b%2Bc', { bucket: 'bucket', key: 'a b+c' }],
    ['bucket/caf%C3%A9', { bucket: 'bucket', key: 'café' }],
    ['bucket/a%3Fb', { bucket: 'bucket', key: 'a?b' }],
    ['bucket/key?versionId=null', { bucket: 'bucket', key: 'key' }],
    ['bucket/dir/', { bucket: 'bucket', key: 'dir/' }],
    // The whole value URL-encoded (encodeURIComponent('bucket/key')), as S3 accepts it; the fuzz target's counterexample.
    ['a.0%2F%2F', { bucket: 'a.0', key: '/' }],
    ['%2Fbucket%2Fa%2Fb%20c', { bucket: 'bucket', key: 'a/b c' }],
  ])('given %j, then %j', (header, expected) => {
    expect(parseCopySource(header)).toEqual(expected);
  });

  it.each([
    ['bucket', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.'],
    ['/bucket', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.'],
    ['', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.'],
    ['bucket/', 'Invalid copy source object key'],
    ['//key', 'Invalid copy source bucket name'],
    ['bucket/%zz', 'Invalid copy source encoding.'],
  ])('given the malformed %j, then 400 InvalidArgument "%s"', (header, message) => {
    const e = errorOf(() => parseCopySource(header));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe(message);
  });

  it('given a version id other than null, then InvalidArgument (no such version in an unversioned bucket)', () => {
    const e = errorOf(() => parseCopySource('bucket/key?versionId=3HL4kqtJlcpXroDTDmJ'));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('Invalid version id specified');
  });
});

describe('parseCopySourceRange', () => {
  it.each([
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=0-99', 100, { start: 0, end: 99 }],
    ['bytes=99-99', 100, { start: 99, end: 99 }],
    [' bytes=5-6 ', 100, { start: 5, end: 6 }],
  ])('given %j on a %d-byte source, then %j', (header, size, expected) => {
    expect(parseCopySourceRange(header, size)).toEqual(expected);
  });

  it.each(['bytes=0-', 'bytes=-10', '0-9', 'bytes=a-b', 'bytes=0-1,2-3', 'bytes = 0-9', 'items=0-9'])(
    'given the non-absolute or malformed %j, then InvalidArgument (form bytes=first-last)',
    (header) => {
      const e = errorOf(() => parseCopySourceRange(header, 100));
      expect(e.code).toBe('InvalidArgument');
      expect(e.message).toMatch(/^The x-amz-copy-source-range value must be of the form bytes=first-last/);
    },
  );

  it('given an inverted range, then InvalidArgument naming the size', () => {
    const e = errorOf(() => parseCopySourceRange('bytes=9-5', 100));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('Range specified is not valid for source object of size: 100');
  });

  it.each([['bytes=0-100', 100], ['bytes=100-100', 100], ['bytes=0-0', 0], ['bytes=50-200', 100]])(
    'given %j outside a %d-byte source, then 416 InvalidRange with the source size',
    (header, size) => {
      const e = errorOf(() => parseCopySourceRange(header, size));
      expect(e.code).toBe('InvalidRange');
      expect(e.status).toBe(416);
      expect(e.details).toMatchObject({ ActualObjectSize: size });
    },
  );
});
