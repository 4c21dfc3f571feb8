import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../../domain/s3/key-order.js';
import {
  commonPrefixOf,
  foldListingRows,
  startListing,
  type ListingPage,
  type ListingRow,
  type ListingSeek,
  type ListingWindow,
} from '../../../domain/s3/listing.js';

const row = (key: string): ListingRow => ({ key, size: key.length, etag: 'e', lastModifiedMs: 0, storageClass: 'STANDARD' });

/** A store that answers the fold's queries the way the gateway's SQL would, and counts them. */
class FakeStore {
  readonly sorted: ListingRow[];
  queries = 0;
  rowsRead = 0;
  constructor(keys: readonly string[]) {
    this.sorted = [...new Set(keys)].sort(compareKeys).map(row);
  }
  query(seek: ListingSeek, upperBound: string | undefined, limit: number): ListingRow[] {
    this.queries++;
    const out: ListingRow[] = [];
    for (const r of this.sorted) {
      const c = compareKeys(r.key, seek.key);
      if (c < 0 || (c === 0 && !seek.inclusive)) continue;
      if (upperBound !== undefined && compareKeys(r.key, upperBound) >= 0) break;
      out.push(r);
      if (out.length === limit) break;
    }
    this.rowsRead += out.length;
    return out;
  }
}

/** Runs one listing request against the store; `limitCap` shrinks queries to force many folds. */
function list(store: FakeStore, window: ListingWindow, limitCap = Infinity): ListingPage {
  let page = startListing(window);
  let guard = 0;
  while (page.needMore && page.seek !== undefined) {
    if (++guard > 100_000) throw new Error('listing does not terminate');
    const limit = Math.min(page.fetchLimit, limitCap);
    const rows = store.query(page.seek, page.upperBound, limit);
    page = foldListingRows(window, page, rows, rows.length < limit);
  }
  return page;
}

type Entry = string; // 'K:key' or 'P:prefix'
const entriesOf = (p: ListingPage): Entry[] =>
  [...p.contents.map((r) => `K:${r.key}`), ...p.commonPrefixes.map((c) => `P:${c}`)].sort((a, b) => compareKeys(a.slice(2), b.slice(2)));

/** S3's listing by definition, computed naively over all keys. */
function reference(keys: readonly string[], prefix: string, delimiter: string, after: string): Entry[] {
  const sorted = [...new Set(keys)].sort(compareKeys);
  const afterPrefix = commonPrefixOf(after, prefix, delimiter);
  const out: Entry[] = [];
  for (const key of sorted) {
    if (!key.startsWith(prefix) || compareKeys(key, after) <= 0) continue;
    const cp = commonPrefixOf(key, prefix, delimiter);
    if (cp === undefined) out.push(`K:${key}`);
    else if (cp !== afterPrefix && out[out.length - 1] !== `P:${cp}`) out.push(`P:${cp}`);
  }
  return out;
}

/** Pages through a whole listing as a client does with NextMarker / continuation tokens. */
function listAll(store: FakeStore, prefix: string, delimiter: string, maxKeys: number, limitCap?: number): Entry[][] {
  const pages: Entry[][] = [];
  let after = '';
  for (;;) {
    const page = list(store, { prefix, delimiter, maxKeys, after }, limitCap);
    pages.push(entriesOf(page));
    if (!page.isTruncated) return pages;
    expect(page.nextMarker).toBeDefined();
    after = page.nextMarker ?? '';
    if (pages.length > 10_000) throw new Error('pagination does not terminate');
  }
}

describe('listing fold — S3 semantics', () => {
  const keys = ['a.txt', 'photos/2026/jan/1.jpg', 'photos/2026/jan/2.jpg', 'photos/2026/feb/1.jpg', 'photos/index.html', 'videos/x.mp4', 'z'];

  it('given no delimiter, then every key under the prefix, in order', () => {
    const page = list(new FakeStore(keys), { prefix: 'photos/', delimiter: '', maxKeys: 1000, after: '' });
    expect(page.contents.map((r) => r.key)).toEqual(['photos/2026/feb/1.jpg', 'photos/2026/jan/1.jpg', 'photos/2026/jan/2.jpg', 'photos/index.html']);
    expect(page.commonPrefixes).toEqual([]);
    expect(page.isTruncated).toBe(false);
  });

  it('given delimiter "/", then keys roll up into common prefixes', () => {
    const page = list(new FakeStore(keys), { prefix: '', delimiter: '/', maxKeys: 1000, after: '' });
    expect(page.contents.map((r) => r.key)).toEqual(['a.txt', 'z']);
    expect(page.commonPrefixes).toEqual(['photos/', 'videos/']);
  });

  it('given prefix and delimiter, then the roll-up starts after the prefix', () => {
    const page = list(new FakeStore(keys), { prefix: 'photos/2026/', delimiter: '/', maxKeys: 1000, after: '' });
    expect(page.commonPrefixes).toEqual(['photos/2026/feb/', 'photos/2026/jan/']);
    expect(page.contents).toEqual([]);
  });

  it('given a multi-character delimiter other than "/", then it rolls up on that', () => {
    const store = new FakeStore(['a--b--c', 'a--d', 'a-e', 'b']);
    const page = list(store, { prefix: '', delimiter: '--', maxKeys: 1000, after: '' });
    expect(page.commonPrefixes).toEqual(['a--']);
    expect(page.contents.map((r) => r.key)).toEqual(['a-e', 'b']);
  });

  it('given a key equal to a common prefix (a "folder marker"), then it is rolled up too', () => {
    const page = list(new FakeStore(['dir/', 'dir/a', 'e']), { prefix: '', delimiter: '/', maxKeys: 1000, after: '' });
    expect(page.commonPrefixes).toEqual(['dir/']);
    expect(page.contents.map((r) => r.key)).toEqual(['e']);
  });

  it('given common prefixes, then they count toward maxKeys and truncate the page', () => {
    const page = list(new FakeStore(['a/1', 'b/1', 'c', 'd/1']), { prefix: '', delimiter: '/', maxKeys: 2, after: '' });
    expect(page.commonPrefixes).toEqual(['a/', 'b/']);
    expect(page.contents).toEqual([]);
    expect(page.isTruncated).toBe(true);
    expect(page.nextMarker).toBe('b/');
  });

  it('given exactly maxKeys entries, then not truncated', () => {
    const page = list(new FakeStore(['a', 'b', 'c']), { prefix: '', delimiter: '', maxKeys: 3, after: '' });
    expect(page.contents).toHaveLength(3);
    expect(page.isTruncated).toBe(false);
  });

  it('given maxKeys entries followed only by keys of the last common prefix, then not truncated', () => {
    const page = list(new FakeStore(['a', 'b/1', 'b/2', 'b/3']), { prefix: '', delimiter: '/', maxKeys: 2, after: '' });
    expect(entriesOf(page)).toEqual(['K:a', 'P:b/']);
    expect(page.isTruncated).toBe(false);
  });

  it('given a NextMarker that is a common prefix, then the next page resumes after everything under it', () => {
    const store = new FakeStore(['a/1', 'a/2', 'b/1', 'c']);
    const page = list(store, { prefix: '', delimiter: '/', maxKeys: 10, after: 'a/' });
    expect(entriesOf(page)).toEqual(['P:b/', 'K:c']);
  });

  it('given a marker inside a common prefix, then that prefix is not returned again', () => {
    const page = list(new FakeStore(['a/1', 'a/2', 'b']), { prefix: '', delimiter: '/', maxKeys: 10, after: 'a/1' });
    expect(entriesOf(page)).toEqual(['K:b']);
  });

  it('given a marker before the prefix, then listing starts at the prefix; after the prefix range, then empty', () => {
    const store = new FakeStore(['a', 'm/1', 'm/2', 'z']);
    expect(entriesOf(list(store, { prefix: 'm/', delimiter: '', maxKeys: 10, after: 'b' }))).toEqual(['K:m/1', 'K:m/2']);
    const queriesBefore = store.queries;
    expect(entriesOf(list(store, { prefix: 'm/', delimiter: '', maxKeys: 10, after: 'n' }))).toEqual([]);
    expect(store.queries).toBe(queriesBefore);
  });

  it('given maxKeys 0, then an empty, untruncated page without a query (as S3)', () => {
    const store = new FakeStore(['a']);
    const page = list(store, { prefix: '', delimiter: '', maxKeys: 0, after: '' });
    expect(page).toMatchObject({ contents: [], commonPrefixes: [], isTruncated: false });
    expect(store.queries).toBe(0);
  });

  it('given an empty store or empty prefix match, then an empty untruncated page', () => {
    expect(list(new FakeStore([]), { prefix: '', delimiter: '/', maxKeys: 5, after: '' })).toMatchObject({ isTruncated: false, contents: [] });
    expect(list(new FakeStore(['a']), { prefix: 'b', delimiter: '/', maxKeys: 5, after: '' })).toMatchObject({ isTruncated: false, contents: [] });
  });

  it('given unicode keys, then code-point (UTF-8) order, not UTF-16 order', () => {
    const page = list(new FakeStore(['😀', '\uE000', 'a', 'é']), { prefix: '', delimiter: '', maxKeys: 10, after: '' });
    expect(page.contents.map((r) => r.key)).toEqual(['a', 'é', '\uE000', '😀']);
  });

  it('given a huge common prefix, then the store seeks past it instead of reading it all', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `big/${String(i).padStart(5, '0')}`);
    const store = new FakeStore([...many, 'a', 'c', 'd/1']);
    const page = list(store, { prefix: '', delimiter: '/', maxKeys: 1000, after: '' }, 10);
    expect(entriesOf(page)).toEqual(['K:a', 'P:big/', 'K:c', 'P:d/']);
    expect(store.rowsRead).toBeLessThan(30);
  });
});

describe('listing fold — pagination against the definition', () => {
  /** Deterministic pseudo-random keys (tests must be reproducible). */
  function randomKeys(seed: number, count: number): string[] {
    let s = seed;
    const next = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const alphabet = ['a', 'b', '/', '-', '😀', 'é', '\uE000', ' ', '.'];
    return Array.from({ length: count }, () => {
      const len = 1 + Math.floor(next() * 8);
      let k = '';
      for (let i = 0; i < len; i++) k += alphabet[Math.floor(next() * alphabet.length)];
      return k;
    });
  }

  const cases: [number, string, string, number, number][] = [];
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    for (const [prefix, delimiter] of [['', ''], ['', '/'], ['a', '/'], ['', '-'], ['a/', '/'], ['', '😀'], ['b', 'a/']] as const) {
      for (const maxKeys of [1, 2, 7, 1000]) cases.push([seed, prefix, delimiter, maxKeys, seed % 2 === 0 ? 3 : Infinity]);
    }
  }

  it.each(cases)('seed %d, prefix %j, delimiter %j, maxKeys %d, query cap %d: pages concatenate to the listing, no dupes or gaps', (seed, prefix, delimiter, maxKeys, cap) => {
    const keys = randomKeys(seed, 300);
    const store = new FakeStore(keys);
    const pages = listAll(store, prefix, delimiter, maxKeys, cap);
    const expected = reference(keys, prefix, delimiter, '');
    expect(pages.flat()).toEqual(expected);
    for (const [i, p] of pages.entries()) {
      if (i < pages.length - 1) expect(p).toHaveLength(maxKeys);
      else expect(p.length).toBeLessThanOrEqual(maxKeys);
    }
  });

  it('given 2500 keys and maxKeys 1000, then 3 pages without duplicates or gaps', () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    const pages = listAll(new FakeStore(keys), '', '', 1000);
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(pages.flat()).toEqual(keys.map((k) => `K:${k}`));
  });

  it('given an arbitrary start position, then the listing matches the definition', () => {
    const keys = randomKeys(42, 400);
    const store = new FakeStore(keys);
    for (const after of ['a', 'a/', 'a/b', '😀', 'b-', 'é/']) {
      const page = list(store, { prefix: '', delimiter: '/', maxKeys: 1000, after });
      expect(entriesOf(page)).toEqual(reference(keys, '', '/', after));
    }
  });
});
