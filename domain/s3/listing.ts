import { compareKeys, prefixSuccessor } from './key-order.js';

/** One stored object as a listing sees it. */
export interface ListingRow {
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
  storageClass: string;
}

/** What is listed: keys starting with `prefix`, after `after`, rolled up at `delimiter`. */
export interface ListingWindow {
  prefix: string;
  /** '' for none. */
  delimiter: string;
  /** Entries (keys + common prefixes) per page, 0..1000. */
  maxKeys: number;
  /** Exclusive start: the marker, start-after or continuation-token position; '' for none. */
  after: string;
}

/**
 * Where the store's next query starts: `key > seek.key`, or `key >= seek.key` when inclusive.
 * Every query of one listing is also bounded by `key < upperBound` when that is defined.
 */
export interface ListingSeek {
  key: string;
  inclusive: boolean;
}

/**
 * The state of one listing request, built up page by page of store rows.
 *
 * Contract with the store (the gateway):
 *   let page = startListing(window);
 *   while (page.needMore) {
 *     rows = SELECT … WHERE key >(=) page.seek.key [AND key < page.upperBound]
 *            ORDER BY key COLLATE "C" LIMIT page.fetchLimit;
 *     page = foldListingRows(window, page, rows, rows.length < page.fetchLimit);
 *   }
 *   → contents, commonPrefixes, isTruncated, nextMarker.
 * Rows must come in code-point (UTF-8 byte) order — `COLLATE "C"` — see key-order.ts. After a
 * common prefix the seek jumps past every key under it, so a prefix holding a million keys
 * costs one query, not a million rows. The state's arrays are reused across folds.
 */
export interface ListingPage<R extends { key: string } = ListingRow> {
  contents: R[];
  commonPrefixes: string[];
  /** More entries exist after this page. */
  isTruncated: boolean;
  /**
   * The last entry (key or common prefix) returned — v1's NextMarker and the position a v2
   * continuation token encodes; meaningful when isTruncated.
   */
  nextMarker: string | undefined;
  /** The store must be queried again, at `seek`. */
  needMore: boolean;
  seek: ListingSeek | undefined;
  /** Exclusive upper bound of the prefix range; undefined when unbounded. */
  upperBound: string | undefined;
  /** A good LIMIT for the next query: the entries still wanted plus one to detect truncation. */
  fetchLimit: number;
  /** The common prefix rows are currently being rolled into (internal to the fold). */
  openPrefix: string | undefined;
}

/** The common prefix `key` rolls up into: prefix + text up to and including the delimiter. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '' || !key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}

function finished<R extends { key: string }>(page: ListingPage<R>, isTruncated: boolean): ListingPage<R> {
  return { ...page, isTruncated, needMore: false, seek: undefined, fetchLimit: 0 };
}

/** A seek, or undefined when it lies at or past the prefix range's end (nothing more to read). */
function boundedSeek(seek: ListingSeek, upperBound: string | undefined): ListingSeek | undefined {
  return upperBound !== undefined && compareKeys(seek.key, upperBound) >= 0 ? undefined : seek;
}

function seekPast(openPrefix: string | undefined, lastKey: string): ListingSeek | undefined {
  if (openPrefix !== undefined && lastKey.startsWith(openPrefix)) {
    const successor = prefixSuccessor(openPrefix);
    return successor === undefined ? undefined : { key: successor, inclusive: true };
  }
  return { key: lastKey, inclusive: false };
}

/**
 * The first state of a listing. A start position that itself rolls up into a common prefix
 * (e.g. a NextMarker `photos/`, or `photos/a` with delimiter `/`) means that prefix was already
 * returned, so the listing resumes after all of it — no page repeats an entry.
 */
export function startListing<R extends { key: string } = ListingRow>(window: ListingWindow): ListingPage<R> {
  const upperBound = prefixSuccessor(window.prefix);
  const openPrefix = commonPrefixOf(window.after, window.prefix, window.delimiter);
  const base: ListingPage<R> = {
    contents: [],
    commonPrefixes: [],
    isTruncated: false,
    nextMarker: undefined,
    needMore: true,
    seek: undefined,
    upperBound,
    fetchLimit: window.maxKeys + 1,
    openPrefix,
  };
  if (window.maxKeys <= 0) return finished(base, false);
  let seek: ListingSeek | undefined;
  if (window.after === '' || compareKeys(window.after, window.prefix) < 0) seek = { key: window.prefix, inclusive: true };
  else seek = seekPast(openPrefix, window.after);
  seek = seek === undefined ? undefined : boundedSeek(seek, upperBound);
  return seek === undefined ? finished(base, false) : { ...base, seek };
}

/**
 * Folds the next rows from the store into the page, as S3 does: a key whose rest after the
 * prefix contains the delimiter rolls up into a common prefix; every key and every common prefix
 * counts once toward maxKeys; the page is truncated when one more entry exists beyond maxKeys.
 * `exhausted` says the store has no rows after these.
 */
export function foldListingRows<R extends { key: string }>(
  window: ListingWindow,
  page: ListingPage<R>,
  rows: readonly R[],
  exhausted: boolean,
): ListingPage<R> {
  if (!page.needMore) return page;
  const { contents, commonPrefixes } = page;
  let { openPrefix, nextMarker } = page;
  let count = contents.length + commonPrefixes.length;
  for (const row of rows) {
    const key = row.key;
    if (!key.startsWith(window.prefix) || (window.after !== '' && compareKeys(key, window.after) <= 0)) continue;
    if (openPrefix !== undefined && key.startsWith(openPrefix)) continue;
    if (count === window.maxKeys) return finished({ ...page, openPrefix, nextMarker }, true);
    const rolledUp = commonPrefixOf(key, window.prefix, window.delimiter);
    if (rolledUp !== undefined) {
      commonPrefixes.push(rolledUp);
      openPrefix = rolledUp;
      nextMarker = rolledUp;
    } else {
      contents.push(row);
      nextMarker = key;
    }
    count++;
  }
  const state = { ...page, openPrefix, nextMarker };
  const lastRow = rows[rows.length - 1];
  if (exhausted || lastRow === undefined) return finished(state, false);
  const next = seekPast(openPrefix, lastRow.key);
  const seek = next === undefined ? undefined : boundedSeek(next, page.upperBound);
  if (seek === undefined) return finished(state, false);
  return { ...state, seek, fetchLimit: Math.max(1, window.maxKeys - count + 1) };
}
