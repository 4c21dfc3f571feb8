import { DomainError } from '../errors.js';

export type RangeResolution =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; /** inclusive */ end: number }
  | { kind: 'unsatisfiable' };

const FULL: RangeResolution = { kind: 'full' };
const UNSATISFIABLE: RangeResolution = { kind: 'unsatisfiable' };

const RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)$/i;

/**
 * Resolves a GET/HEAD `Range` header against an object of `size` bytes, as S3 does:
 * - absent, malformed, inverted (`bytes=9-0`) or multi-range headers are ignored: the whole
 *   object, 200 (S3 serves no multipart/byteranges);
 * - `bytes=a-b` / `bytes=a-`: end clamped to size-1; a start at or past the end is 416 — so a
 *   zero-byte object answers any such range with 416;
 * - `bytes=-n`: the last n bytes, the whole object as 0..size-1 when n ≥ size; `-0` is 416; on a
 *   zero-byte object a suffix range is served as the (empty) full object, 200, as S3 does.
 */
export function resolveRange(header: string | undefined, size: number): RangeResolution {
  if (header === undefined) return FULL;
  const match = RANGE.exec(header.trim());
  if (!match) return FULL;
  const first = match[1] ?? '';
  const last = match[2] ?? '';
  if (first === '' && last === '') return FULL;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return UNSATISFIABLE;
    if (size === 0) return FULL;
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return FULL;
  if (start >= size) return UNSATISFIABLE;
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', start, end };
}

/** The Content-Range value for a 206 (`bytes a-b/size`) or a 416 (`bytes *\/size`). */
export function contentRangeHeader(range: RangeResolution, size: number): string | undefined {
  if (range.kind === 'partial') return `bytes ${range.start}-${range.end}/${size}`;
  if (range.kind === 'unsatisfiable') return `bytes */${size}`;
  return undefined;
}

/** The 416 S3 answers an unsatisfiable range with, carrying the fields of its error body. */
export function invalidRangeError(header: string, size: number): DomainError {
  return new DomainError('InvalidRange', undefined, { RangeRequested: header, ActualObjectSize: size });
}
