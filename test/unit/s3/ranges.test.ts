import { describe, expect, it } from 'vitest';
import { contentRangeHeader, invalidRangeError, resolveRange } from '../../../domain/s3/ranges.js';

describe('resolveRange (GET/HEAD Range header, as S3)', () => {
  const size = 100;
  it.each([
    ['bytes=0-9', { kind: 'partial', start: 0, end: 9 }],
    ['bytes=10-19', { kind: 'partial', start: 10, end: 19 }],
    ['bytes=99-99', { kind: 'partial', start: 99, end: 99 }],
    ['bytes=50-', { kind: 'partial', start: 50, end: 99 }],
    ['bytes=0-', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=-10', { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-100', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=90-1000', { kind: 'partial', start: 90, end: 99 }],
    ['bytes=0-99999999999999999999', { kind: 'partial', start: 0, end: 99 }],
    [' bytes = 5 - 7 ', { kind: 'partial', start: 5, end: 7 }],
    ['BYTES=1-2', { kind: 'partial', start: 1, end: 2 }],
    ['bytes=\t3-4', { kind: 'partial', start: 3, end: 4 }],
  ])('given a 100-byte object, when %j, then %j', (header, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });

  it('given a suffix longer than the object, then the whole object as a 206 range', () => {
    expect(resolveRange('bytes=-500', size)).toEqual({ kind: 'partial', start: 0, end: 99 });
  });

  it.each(['bytes=100-', 'bytes=100-200', 'bytes=1000-2000', 'bytes=-0', 'bytes=99999999999999999999-'])(
    'given a start at or past the end (%s), then unsatisfiable (416)',
    (header) => {
      expect(resolveRange(header, size)).toEqual({ kind: 'unsatisfiable' });
    },
  );

  it.each([
    undefined,
    '',
    'bytes=',
    'bytes=-',
    'bytes=9-0',
    'bytes=0-1,5-6',
    'bytes=0-1, 5-6',
    'items=0-9',
    'bytes=a-b',
    'bytes=1.5-2',
    'bytes=+1-2',
    'bytes 0-9',
    '0-9',
    'bytes=--1',
  ])('given a malformed, inverted or multi-range header %j, then it is ignored (full object)', (header) => {
    expect(resolveRange(header, size)).toEqual({ kind: 'full' });
  });

  describe('given a zero-byte object', () => {
    it.each(['bytes=0-', 'bytes=0-0', 'bytes=0-10', 'bytes=5-'])('when %s, then 416 as S3 answers', (header) => {
      expect(resolveRange(header, 0)).toEqual({ kind: 'unsatisfiable' });
    });
    it('when a suffix range, then the (empty) full object with 200 as S3 answers', () => {
      expect(resolveRange('bytes=-512', 0)).toEqual({ kind: 'full' });
    });
    it('when bytes=-0, then 416', () => {
      expect(resolveRange('bytes=-0', 0)).toEqual({ kind: 'unsatisfiable' });
    });
  });

  it('given a one-byte object, when bytes=-1 or 0-0, then that byte', () => {
    expect(resolveRange('bytes=-1', 1)).toEqual({ kind: 'partial', start: 0, end: 0 });
    expect(resolveRange('bytes=0-0', 1)).toEqual({ kind: 'partial', start: 0, end: 0 });
  });
});

describe('contentRangeHeader / invalidRangeError', () => {
  it('renders bytes a-b/size for a partial range and bytes */size for an unsatisfiable one', () => {
    expect(contentRangeHeader({ kind: 'partial', start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
    expect(contentRangeHeader({ kind: 'unsatisfiable' }, 100)).toBe('bytes */100');
    expect(contentRangeHeader({ kind: 'full' }, 100)).toBeUndefined();
  });

  it('gives a 416 InvalidRange carrying the requested range and the object size', () => {
    const e = invalidRangeError('bytes=200-', 100);
    expect(e.code).toBe('InvalidRange');
    expect(e.status).toBe(416);
    expect(e.details).toEqual({ RangeRequested: 'bytes=200-', ActualObjectSize: 100 });
  });
});
