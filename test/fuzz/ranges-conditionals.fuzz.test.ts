import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateConditions, evaluateCopySourceConditions, type Conditions } from '../../domain/s3/conditionals.js';
import { contentRangeHeader, resolveRange } from '../../domain/s3/ranges.js';
import { parseCopySourceRange } from '../../domain/s3/keys.js';
import { formatHttpDate, parseHttpDate } from '../../gateway/s3/xml/dates.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Range and conditional headers: the byte ranges served are S3's for any well-formed Range,
 * anything else is served whole; conditional headers follow RFC 9110's precedence however the
 * ETag lists and dates are written; nothing throws.
 */

const size = fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 40 }));
const offset = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2 ** 41 }));
/** The same header written the ways clients and proxies write it. */
const spacing = fc.constantFrom('', ' ', '\t', '  ');
const unit = fc.constantFrom('bytes', 'Bytes', 'BYTES');

/** What S3 serves for `bytes=<first>-<last>` (either may be absent) on an object of `size` bytes. */
function s3Range(first: number | undefined, last: number | undefined, size: number): { kind: string; start?: number; end?: number } {
  if (first === undefined && last === undefined) return { kind: 'full' };
  if (first === undefined) {
    const n = last as number;
    if (n === 0) return { kind: 'unsatisfiable' };
    if (size === 0) return { kind: 'full' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  if (last !== undefined && last < first) return { kind: 'full' };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start: first, end: last === undefined ? size - 1 : Math.min(last, size - 1) };
}

const md5 = fc.stringMatching(/^[0-9a-f]{32}$/);
const etag = fc.oneof(md5, md5.map((h) => `${h}-${h.length % 9 + 1}`));
/** An ETag written in an If-Match / If-None-Match list: quoted, bare or weak. */
const listed = (tag: string): fc.Arbitrary<string> => fc.constantFrom(`"${tag}"`, tag, `W/"${tag}"`);
const etagList = (tags: string[]): fc.Arbitrary<string> =>
  fc.tuple(...tags.map(listed), fc.constantFrom(',', ', ', ' ,', ',\t')).map(([...parts]) => {
    const sep = parts.pop() as string;
    return parts.join(sep);
  });

describe('fuzz: ranges and conditional headers', () => {
  it('serves S3\'s byte range for any well-formed Range, however it is spaced or cased', () => {
    fc.assert(fc.property(size, fc.option(offset, { nil: undefined }), fc.option(offset, { nil: undefined }), unit, spacing, spacing, spacing, (n, first, last, u, s1, s2, s3) => {
      const header = `${u}${s1}=${s2}${first ?? ''}${s3}-${s3}${last ?? ''}`;
      const got = resolveRange(header, n);
      expect(got).toEqual(s3Range(first, last, n));
      if (got.kind === 'partial') {
        expect(got.start).toBeGreaterThanOrEqual(0);
        expect(got.end).toBeLessThan(n);
        expect(got.start).toBeLessThanOrEqual(got.end);
        expect(contentRangeHeader(got, n)).toBe(`bytes ${got.start}-${got.end}/${n}`);
      }
    }), fuzzRuns(1000));
  });

  it('serves any other Range header whole or refuses it, never throws, never goes outside the object', () => {
    const text = fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.constantFrom('bytes', '=', '-', ',', ' ', '0', '1', '99999999999999999999', 'e3', '+', '0x1', '\u0000'), { maxLength: 10 }).map((p) => p.join('')));
    fc.assert(fc.property(text, size, (header, n) => {
      const got = resolveRange(header, n);
      if (got.kind === 'partial') expect(0 <= got.start && got.start <= got.end && got.end < n).toBe(true);
    }), fuzzRuns(1000));
  });

  it('takes an UploadPartCopy range only when it is absolute and inside the source', () => {
    fc.assert(fc.property(offset, offset, size, spacing, (first, last, n, pad) => {
      const outcome = clientOutcome(() => parseCopySourceRange(`${pad}bytes=${first}-${last}${pad}`, n));
      if (first <= last && last < n) expect(outcome).toEqual({ ok: true, value: { start: first, end: last } });
      else expect(outcome.ok).toBe(false);
    }), fuzzRuns(500));
    fc.assert(fc.property(fc.string({ maxLength: 30 }), size, (header, n) => {
      const outcome = clientOutcome(() => parseCopySourceRange(header, n));
      if (outcome.ok) expect(outcome.value.start <= outcome.value.end && outcome.value.end < n).toBe(true);
    }), fuzzRuns(500));
  });

  it('evaluates If-Match / If-None-Match by the tag, however the list is written', () => {
    const lists = fc.tuple(etag, fc.array(etag, { maxLength: 3 }), fc.nat({ max: 3 }), fc.boolean()).chain(([current, others, at, quoted]) => {
      const foreign = others.filter((o) => o !== current);
      const withCurrent = [...foreign];
      withCurrent.splice(at % (foreign.length + 1), 0, current);
      return fc.record({
        current: fc.constant(current),
        stored: fc.constant(quoted ? `"${current}"` : current),
        hit: etagList(withCurrent),
        miss: etagList(foreign.length > 0 ? foreign : ['0'.repeat(32)]),
      });
    });
    fc.assert(fc.property(lists, ({ current, stored, hit, miss }) => {
      const object = { etag: stored, lastModifiedMs: 1_700_000_000_000 };
      // If-Match compares strongly: a weak W/"…" entry does not match.
      const strongHit = hit.split(',').some((t) => t.trim() === `"${current}"` || t.trim() === current);
      expect(evaluateConditions(object, { ifMatch: hit }).outcome).toBe(strongHit ? 'proceed' : 'precondition-failed');
      expect(evaluateConditions(object, { ifMatch: miss }).outcome).toBe('precondition-failed');
      expect(evaluateConditions(object, { ifNoneMatch: hit }).outcome).toBe('not-modified');
      expect(evaluateConditions(object, { ifNoneMatch: miss }).outcome).toBe('proceed');
      expect(evaluateConditions(object, { ifMatch: '*', ifNoneMatch: miss }).outcome).toBe('proceed');
    }), fuzzRuns(500));
  });

  it('applies RFC 9110\'s precedence: If-Match over If-Unmodified-Since, If-None-Match over If-Modified-Since, 412 before 304', () => {
    const second = fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => s * 1000);
    const cond = fc.record({
      ifMatch: fc.option(fc.constantFrom('match', 'miss', '*'), { nil: undefined }),
      ifNoneMatch: fc.option(fc.constantFrom('match', 'miss', '*'), { nil: undefined }),
      ifModifiedSinceMs: fc.option(second, { nil: undefined }),
      ifUnmodifiedSinceMs: fc.option(second, { nil: undefined }),
    });
    fc.assert(fc.property(second, fc.integer({ min: 0, max: 999 }), cond, (lastModifiedMs, ms, c) => {
      const object = { etag: '"0123456789abcdef0123456789abcdef"', lastModifiedMs: lastModifiedMs + ms };
      const tag = (v: string | undefined): string | undefined => (v === 'match' ? object.etag : v === 'miss' ? '"ffffffffffffffffffffffffffffffff"' : v);
      const conditions: Conditions = { ...c, ifMatch: tag(c.ifMatch), ifNoneMatch: tag(c.ifNoneMatch) };
      const matchFails = c.ifMatch === 'miss';
      const unmodifiedFails = c.ifMatch === undefined && c.ifUnmodifiedSinceMs !== undefined && lastModifiedMs > c.ifUnmodifiedSinceMs;
      const noneMatchHits = c.ifNoneMatch === 'match' || c.ifNoneMatch === '*';
      const notModified = c.ifNoneMatch === undefined && c.ifModifiedSinceMs !== undefined && lastModifiedMs <= c.ifModifiedSinceMs;
      const expected = matchFails || unmodifiedFails ? 'precondition-failed' : noneMatchHits || notModified ? 'not-modified' : 'proceed';
      expect(evaluateConditions(object, conditions).outcome).toBe(expected);
      expect(evaluateCopySourceConditions(object, conditions)).toBe(expected === 'proceed' ? 'proceed' : 'precondition-failed');
    }), fuzzRuns(1000));
  });

  it('reads every HTTP-date form of a time back to that time, and ignores anything else', () => {
    const at = fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }).map((ms) => Math.floor(ms / 1000) * 1000);
    fc.assert(fc.property(at, spacing, (ms, pad) => {
      const d = new Date(ms);
      const imf = formatHttpDate(ms);
      const [wd, day, mon, year, time] = imf.replace(',', '').split(' ') as [string, string, string, string, string];
      const longDay = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()] as string;
      const asctime = `${wd} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${year}`;
      expect(parseHttpDate(`${pad}${imf}${pad}`)).toBe(ms);
      expect(parseHttpDate(asctime)).toBe(ms);
      // RFC 850's two-digit year: the nearest such year not more than 50 years ahead of now.
      const now = ms + 10 * 365 * 86_400_000;
      expect(parseHttpDate(`${longDay}, ${day}-${mon}-${year.slice(2)} ${time} GMT`, now)).toBe(ms);
    }), fuzzRuns(500));
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
      const parsed = parseHttpDate(text);
      if (parsed !== undefined) expect(Number.isFinite(parsed)).toBe(true);
    }), fuzzRuns(500));
  });
});
