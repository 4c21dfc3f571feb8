import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../domain/s3/key-order.js';
import {
  decodeContinuationToken, encodeContinuationToken, parseListMultipartUploadsParams, parseListObjectsV1Params,
  parseListObjectsV2Params, parseListPartsParams,
} from '../../domain/s3/listing-params.js';
import { commonPrefixOf, foldListingRows, startListing, type ListingWindow } from '../../domain/s3/listing.js';
import { anyChar } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Listings: paging through any set of keys with any prefix, delimiter and page size, following
 * the continuation tokens, returns every entry S3 would list exactly once, in code-point order;
 * tokens round-trip any key and nothing else decodes; listing parameters are parsed or refused
 * with a 4xx.
 */

/** Characters whose order differs between UTF-16 and code points, and delimiters. */
const keyChar = fc.constantFrom('/', 'a', 'b', '-', '\u00ff', '\ud7ff', '\ue000', '\uffff', '😀', '𝄞', ' ', '%');
const key = fc.string({ unit: keyChar, minLength: 1, maxLength: 6 });
const delimiter = fc.constantFrom('', '/', 'a', 'b/', '😀');

interface Entry { kind: 'key' | 'prefix'; value: string }

/** What S3 lists for these keys, all pages together. */
function modelListing(keys: readonly string[], window: Omit<ListingWindow, 'maxKeys'>): Entry[] {
  const skipped = commonPrefixOf(window.after, window.prefix, window.delimiter);
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const k of [...new Set(keys)].sort(compareKeys)) {
    if (!k.startsWith(window.prefix) || (window.after !== '' && compareKeys(k, window.after) <= 0)) continue;
    const rolled = commonPrefixOf(k, window.prefix, window.delimiter);
    if (rolled === undefined) entries.push({ kind: 'key', value: k });
    else if (rolled !== skipped && !seen.has(rolled)) {
      seen.add(rolled);
      entries.push({ kind: 'prefix', value: rolled });
    }
  }
  return entries;
}

/** One page as the gateway computes it, from a store that serves `SELECT … ORDER BY key COLLATE "C" LIMIT n`. */
function listPage(sorted: readonly string[], window: ListingWindow) {
  let page = startListing<{ key: string }>(window);
  let queries = 0;
  while (page.needMore && page.seek) {
    const { key: from, inclusive } = page.seek;
    const rows = sorted
      .filter((k) => (inclusive ? compareKeys(k, from) >= 0 : compareKeys(k, from) > 0) && (page.upperBound === undefined || compareKeys(k, page.upperBound) < 0))
      .slice(0, page.fetchLimit)
      .map((k) => ({ key: k }));
    page = foldListingRows(window, page, rows, rows.length < page.fetchLimit);
    if (++queries > sorted.length + 2) throw new Error('the listing does not progress');
  }
  return page;
}

describe('fuzz: listing parameters, continuation tokens and pages', () => {
  it('pages through any keys with continuation tokens: every entry once, in order, none lost', () => {
    const listingCase = fc.record({
      keys: fc.array(key, { maxLength: 40 }),
      prefix: fc.oneof(fc.constant(''), fc.string({ unit: keyChar, maxLength: 3 })),
      delimiter,
      maxKeys: fc.integer({ min: 1, max: 7 }),
      startAfter: fc.option(fc.string({ unit: keyChar, maxLength: 4 }), { nil: undefined }),
    });
    fc.assert(fc.property(listingCase, ({ keys, prefix, delimiter: d, maxKeys, startAfter }) => {
      const sorted = [...new Set(keys)].sort(compareKeys);
      const expected = modelListing(keys, { prefix, delimiter: d, after: startAfter ?? '' });
      const got: Entry[] = [];
      let token: string | undefined;
      for (let pages = 0; ; pages++) {
        const query: Record<string, string> = { prefix, delimiter: d, 'max-keys': String(maxKeys) };
        if (token !== undefined) query['continuation-token'] = token;
        if (startAfter !== undefined) query['start-after'] = startAfter;
        const params = parseListObjectsV2Params(query);
        const page = listPage(sorted, { prefix, delimiter: d, maxKeys: params.maxKeys.pageSize, after: params.after });
        const entries = [...page.contents.map((r) => ({ kind: 'key' as const, value: r.key })), ...page.commonPrefixes.map((p) => ({ kind: 'prefix' as const, value: p }))]
          .sort((a, b) => compareKeys(a.value, b.value));
        expect(entries.length).toBeLessThanOrEqual(maxKeys);
        got.push(...entries);
        if (!page.isTruncated) break;
        expect(entries.length).toBe(maxKeys);
        token = encodeContinuationToken(page.nextMarker as string);
        expect(pages).toBeLessThan(expected.length + 1);
      }
      expect(got).toEqual(expected);
    }), fuzzRuns(500));
  });

  it('round-trips any key through a continuation token, which does not show it, and decodes nothing else', () => {
    fc.assert(fc.property(fc.string({ unit: anyChar, maxLength: 40 }), (k) => {
      const token = encodeContinuationToken(k);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeContinuationToken(token)).toBe(k);
      // Opaque: a key with a character base64url cannot hold never shows in its token.
      if (/[^A-Za-z0-9_-]/.test(k)) expect(token).not.toContain(k);
    }), fuzzRuns(500));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.base64String({ maxLength: 60 })), (token) => {
      const outcome = clientOutcome(() => decodeContinuationToken(token));
      if (outcome.ok) expect(typeof outcome.value).toBe('string');
    }), fuzzRuns(500));
  });

  it('parses any listing query or refuses it with a 4xx, and never pages more than 1000 entries', () => {
    const number = fc.oneof(fc.integer({ min: -3, max: 3000 }).map(String), fc.constantFrom('', '+5', ' 5', '5 ', '1e3', '0x10', '2147483647', '2147483648', '-2147483649', '007', '-0', 'NaN'), fc.string({ maxLength: 5 }));
    const value = fc.oneof(fc.string({ maxLength: 12 }), number, fc.constantFrom('url', 'URL', 'true', 'TRUE', encodeContinuationToken('k')));
    const names = ['prefix', 'delimiter', 'marker', 'max-keys', 'continuation-token', 'start-after', 'fetch-owner', 'encoding-type', 'key-marker',
      'upload-id-marker', 'max-uploads', 'part-number-marker', 'max-parts', 'list-type'];
    const query = fc.dictionary(fc.constantFrom(...names), fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 2 })), { maxKeys: 6 });
    fc.assert(fc.property(query, (q) => {
      for (const parse of [parseListObjectsV1Params, parseListObjectsV2Params, parseListMultipartUploadsParams, parseListPartsParams]) {
        const outcome = clientOutcome(() => parse(q));
        if (!outcome.ok) {
          expect(outcome.code).toBe('InvalidArgument');
          continue;
        }
        const bound = 'maxKeys' in outcome.value ? outcome.value.maxKeys : 'maxUploads' in outcome.value ? outcome.value.maxUploads : outcome.value.maxParts;
        expect(bound.pageSize).toBeGreaterThanOrEqual(0);
        expect(bound.pageSize).toBeLessThanOrEqual(1000);
        expect(Number.isInteger(bound.requested)).toBe(true);
      }
    }), fuzzRuns(1000));
  });
});
