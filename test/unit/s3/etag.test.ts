import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../../domain/errors.js';
import { isMd5Hex, multipartEtag, quoteEtag, unquoteEtag } from '../../../domain/s3/etag.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('ETag quoting', () => {
  it.each([
    ['abc', 'abc', '"abc"'],
    ['"abc"', 'abc', '"abc"'],
    ['W/"abc"', 'abc', '"abc"'],
    ['"abc-3"', 'abc-3', '"abc-3"'],
    ['', '', '""'],
  ])('given %j, then unquoted %j and quoted %j', (input, unquoted, quoted) => {
    expect(unquoteEtag(input)).toBe(unquoted);
    expect(quoteEtag(input)).toBe(quoted);
  });

  it('quoting is idempotent', () => {
    expect(quoteEtag(quoteEtag('abc'))).toBe('"abc"');
  });

  it('recognises MD5 hex digests', () => {
    expect(isMd5Hex('d41d8cd98f00b204e9800998ecf8427e')).toBe(true);
    expect(isMd5Hex('D41D8CD98F00B204E9800998ECF8427E')).toBe(true);
    expect(isMd5Hex('d41d8cd98f00b204e9800998ecf8427')).toBe(false);
    expect(isMd5Hex('abc-2')).toBe(false);
  });
});

describe('multipartEtag', () => {
  it('given part MD5s, then MD5 of their concatenated binary digests plus -N, as S3 computes it', () => {
    const parts = [Buffer.from('part one'), Buffer.from('part two'), Buffer.from('3')];
    const partMd5s = parts.map((p) => md5(p));
    const expected = createHash('md5')
      .update(Buffer.concat(partMd5s.map((h) => Buffer.from(h, 'hex'))))
      .digest('hex');
    expect(multipartEtag(partMd5s, md5)).toBe(`${expected}-3`);
    expect(multipartEtag(partMd5s.map((h) => `"${h}"`), md5)).toBe(`${expected}-3`);
  });

  it('given a 5 MiB part of zeros and a 1-byte part, then it matches an independent hex-concatenation computation', () => {
    const a = md5(Buffer.alloc(5 * 1024 * 1024));
    const b = md5(Buffer.from([0]));
    // Independently: MD5(hex2bin(a) || hex2bin(b)).
    const reference = createHash('md5').update(Buffer.from(a + b, 'hex')).digest('hex');
    expect(multipartEtag([a, b], md5)).toBe(`${reference}-2`);
  });

  it('given one part, then -1 (not the part’s own ETag)', () => {
    const h = md5(Buffer.from('x'));
    expect(multipartEtag([h], md5)).toBe(`${md5(Buffer.from(h, 'hex'))}-1`);
    expect(multipartEtag([h], md5)).not.toBe(h);
  });

  it('given a part ETag that is not an MD5 digest, then an internal error', () => {
    let error: unknown;
    try {
      multipartEtag(['not-md5'], md5);
    } catch (e) {
      error = e;
    }
    expect(isDomainError(error) && error.code).toBe('InternalError');
  });
});
