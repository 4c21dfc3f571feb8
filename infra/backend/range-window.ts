import type { IncomingHttpHeaders } from 'node:http';
import type { ByteRange } from './types.js';

/** Bytes to drop from the front of a response body, and how many to keep after them. */
export interface BodyWindow {
  skip: number;
  /** Undefined: keep everything after `skip` (the response ends where the range ends). */
  take: number | undefined;
}

export interface RangedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  contentLength: number;
  /** Present when the backend sent more than was asked for and the body must be cut. */
  window: BodyWindow | undefined;
}

const contentRangePattern = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/**
 * Checks that a 2xx answer to `Range: bytes=start-end` covers the range, and says how to cut the
 * body when it covers more: s3rver answers `bytes=0-0` with the whole object, and a backend may
 * ignore Range and answer 200. Returns a description of the problem when it does not cover it.
 */
export function fitToRange(requested: ByteRange, status: number, headers: IncomingHttpHeaders): RangedResponse | string {
  let servedStart: number;
  let servedEnd: number;
  let size: number;
  if (status === 206) {
    const match = contentRangePattern.exec(String(headers['content-range'] ?? ''));
    if (!match) return `206 without a usable Content-Range (${String(headers['content-range'])})`;
    servedStart = Number(match[1]);
    servedEnd = Number(match[2]);
    size = match[3] === '*' ? servedEnd + 1 : Number(match[3]);
  } else {
    size = Number(headers['content-length'] ?? NaN);
    if (!Number.isSafeInteger(size)) return `${status} without a Content-Length`;
    servedStart = 0;
    servedEnd = size - 1;
  }
  const wantedEnd = Math.min(requested.end, size - 1);
  if (requested.start > wantedEnd || servedStart > requested.start || servedEnd < wantedEnd) {
    return `asked for bytes ${requested.start}-${requested.end}, got ${servedStart}-${servedEnd} of ${size}`;
  }
  const contentLength = wantedEnd - requested.start + 1;
  const exact = servedStart === requested.start && servedEnd === wantedEnd;
  return {
    status: 206,
    headers: exact && status === 206 ? headers : {
      ...headers,
      'content-length': String(contentLength),
      'content-range': `bytes ${requested.start}-${wantedEnd}/${size}`,
    },
    contentLength,
    window: exact ? undefined : { skip: requested.start - servedStart, take: servedEnd === wantedEnd ? undefined : contentLength },
  };
}
