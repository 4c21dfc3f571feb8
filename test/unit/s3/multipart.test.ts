import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../support/domain-errors.js';
import { multipartEtag } from '../../../domain/s3/etag.js';
import {
  MIN_PART_SIZE,
  completeMultipartUpload,
  parsePartNumber,
  type RequestedPart,
  type UploadedPart,
} from '../../../domain/s3/multipart.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const etagOf = (n: number): string => md5(Buffer.from(`part ${n}`));
const MiB = 1024 * 1024;

function uploaded(...sizes: number[]): UploadedPart[] {
  return sizes.map((size, i) => ({ partNumber: i + 1, etag: `"${etagOf(i + 1)}"`, size }));
}
const req = (partNumber: number, etag = etagOf(partNumber)): RequestedPart => ({ partNumber, etag: `"${etag}"` });


describe('completeMultipartUpload', () => {
  it('given all parts in order with matching ETags, then the parts, total size and multipart ETag', () => {
    const parts = uploaded(5 * MiB, 5 * MiB, 1);
    const done = completeMultipartUpload(parts, [req(1), req(2), req(3)], { md5 });
    expect(done.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(done.totalSize).toBe(10 * MiB + 1);
    expect(done.etag).toBe(multipartEtag([etagOf(1), etagOf(2), etagOf(3)], md5));
    expect(done.etag).toMatch(/^[0-9a-f]{32}-3$/);
  });

  it('given a subset of the uploaded parts (gaps allowed), then only those, in order', () => {
    const parts = uploaded(5 * MiB, 5 * MiB, 5 * MiB, 7);
    const done = completeMultipartUpload(parts, [req(1), req(3), req(4)], { md5 });
    expect(done.parts.map((p) => p.partNumber)).toEqual([1, 3, 4]);
    expect(done.totalSize).toBe(10 * MiB + 7);
    expect(done.etag.endsWith('-3')).toBe(true);
  });

  it('given unquoted or upper-case ETags in the request, then they still match', () => {
    const parts = uploaded(1);
    expect(() => completeMultipartUpload(parts, [{ partNumber: 1, etag: etagOf(1).toUpperCase() }], { md5 })).not.toThrow();
    expect(() => completeMultipartUpload(parts, [{ partNumber: 1, etag: ` "${etagOf(1)}" ` }], { md5 })).not.toThrow();
  });

  it('given a single small part, then it is allowed (the last part has no minimum)', () => {
    expect(completeMultipartUpload(uploaded(1), [req(1)], { md5 }).totalSize).toBe(1);
  });

  it('given no parts, then MalformedXML', () => {
    expect(errorOf(() => completeMultipartUpload(uploaded(1), [], { md5 })).code).toBe('MalformedXML');
  });

  it.each([0, 10001, -1, 1.5])('given part number %d, then InvalidArgument', (n) => {
    expect(errorOf(() => completeMultipartUpload(uploaded(1), [{ partNumber: n, etag: 'x' }], { md5 })).code).toBe('InvalidArgument');
  });

  it('given descending part numbers, then InvalidPartOrder', () => {
    const parts = uploaded(5 * MiB, 5 * MiB);
    expect(errorOf(() => completeMultipartUpload(parts, [req(2), req(1)], { md5 })).code).toBe('InvalidPartOrder');
  });

  it('given a repeated part number, then InvalidPartOrder', () => {
    const parts = uploaded(5 * MiB, 5 * MiB);
    expect(errorOf(() => completeMultipartUpload(parts, [req(1), req(1)], { md5 })).code).toBe('InvalidPartOrder');
  });

  it('given order is checked before existence, then an unordered list with a missing part is InvalidPartOrder', () => {
    expect(errorOf(() => completeMultipartUpload(uploaded(1), [req(5), req(2)], { md5 })).code).toBe('InvalidPartOrder');
  });

  it('given a part never uploaded, then InvalidPart naming it', () => {
    const e = errorOf(() => completeMultipartUpload(uploaded(5 * MiB), [req(1), req(2)], { md5 }));
    expect(e.code).toBe('InvalidPart');
    expect(e.details).toMatchObject({ PartNumber: 2 });
  });

  it('given a wrong ETag, then InvalidPart', () => {
    const e = errorOf(() => completeMultipartUpload(uploaded(1), [req(1, etagOf(9))], { md5 }));
    expect(e.code).toBe('InvalidPart');
  });

  it('given a part other than the last under 5 MiB, then EntityTooSmall with the sizes', () => {
    const e = errorOf(() => completeMultipartUpload(uploaded(MIN_PART_SIZE - 1, 10), [req(1), req(2)], { md5 }));
    expect(e.code).toBe('EntityTooSmall');
    expect(e.details).toMatchObject({ ProposedSize: MIN_PART_SIZE - 1, MinSizeAllowed: MIN_PART_SIZE, PartNumber: 1 });
  });

  it('given a configurable minimum, then it applies instead', () => {
    expect(completeMultipartUpload(uploaded(1, 1), [req(1), req(2)], { md5, minPartSize: 1 }).totalSize).toBe(2);
  });

  it('given a total over the maximum object size, then EntityTooLarge', () => {
    expect(errorOf(() => completeMultipartUpload(uploaded(6, 6), [req(1), req(2)], { md5, minPartSize: 1, maxObjectSize: 11 })).code).toBe(
      'EntityTooLarge',
    );
  });

  it('given a checksum that disagrees with the uploaded part’s, then InvalidPart; agreeing or absent is fine', () => {
    const parts: UploadedPart[] = [{ partNumber: 1, etag: etagOf(1), size: 1, checksums: { ChecksumCRC32: 'AAAAAA==' } }];
    expect(errorOf(() => completeMultipartUpload(parts, [{ ...req(1), checksums: { ChecksumCRC32: 'BBBBBB==' } }], { md5 })).code).toBe(
      'InvalidPart',
    );
    expect(() => completeMultipartUpload(parts, [{ ...req(1), checksums: { ChecksumCRC32: 'AAAAAA==' } }], { md5 })).not.toThrow();
    expect(() => completeMultipartUpload(parts, [req(1)], { md5 })).not.toThrow();
  });

  it('given 10000 parts, then they complete with -10000', () => {
    const sizes = Array.from({ length: 10000 }, (_, i) => (i === 9999 ? 1 : MIN_PART_SIZE));
    const parts = uploaded(...sizes);
    const done = completeMultipartUpload(parts, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })), { md5 });
    expect(done.etag.endsWith('-10000')).toBe(true);
  });
});

describe('parsePartNumber', () => {
  it.each([
    ['1', 1],
    ['10000', 10000],
    ['0042', 42],
  ])('given %j, then %d', (raw, n) => {
    expect(parsePartNumber(raw)).toBe(n);
  });

  it.each([undefined, '', '0', '10001', '-1', '1.0', 'abc', ' 1', '+1'])('given %j, then InvalidArgument', (raw) => {
    const e = errorOf(() => parsePartNumber(raw));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('Part number must be an integer between 1 and 10000, inclusive');
  });
});
