import { unquoteEtag } from './etag.js';

/** What conditional headers are checked against. */
export interface ObjectValidators {
  /** Quoted or not. */
  etag: string;
  lastModifiedMs: number;
}

/**
 * The four conditional headers. ETag lists are the raw header values; dates are already parsed
 * (epoch ms) — pass undefined for an absent header and for one that is not a valid HTTP-date,
 * which S3, like RFC 9110, ignores.
 */
export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSinceMs?: number | undefined;
  ifUnmodifiedSinceMs?: number | undefined;
}

export type ReadOutcome = 'proceed' | 'not-modified' | 'precondition-failed';
export type CopySourceOutcome = 'proceed' | 'precondition-failed';

/** Which header decided a non-proceed outcome: S3 names it in a 412's `<Condition>`. */
export type ConditionHeader = 'If-Match' | 'If-None-Match' | 'If-Modified-Since' | 'If-Unmodified-Since';

export interface ConditionVerdict {
  outcome: ReadOutcome;
  condition?: ConditionHeader;
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/**
 * Splits an If-Match / If-None-Match value into entity tags. Quoted tags may contain commas;
 * an unquoted token is accepted as a tag too (clients send bare ETags and S3 accepts them).
 * Returns 'any' for `*`.
 */
function parseEtagList(value: string): EntityTag[] | 'any' {
  const tags: EntityTag[] = [];
  let i = 0;
  while (i < value.length) {
    const ch = value[i];
    if (ch === ' ' || ch === '\t' || ch === ',') {
      i++;
      continue;
    }
    const weak = value.startsWith('W/"', i);
    if (weak) i += 2;
    if (value[i] === '"') {
      const close = value.indexOf('"', i + 1);
      const end = close === -1 ? value.length : close;
      tags.push({ weak, opaque: value.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    let end = value.indexOf(',', i);
    if (end === -1) end = value.length;
    const token = value.slice(i, end).trim();
    if (token === '*') return 'any';
    tags.push({ weak: false, opaque: token });
    i = end;
  }
  return tags;
}

/** RFC 9110 §13.1.1: strong comparison — neither tag weak, opaque parts equal. */
function matchesStrong(header: string, etag: string): boolean {
  const tags = parseEtagList(header);
  if (tags === 'any') return true;
  const opaque = unquoteEtag(etag);
  return tags.some((t) => !t.weak && t.opaque === opaque);
}

/** RFC 9110 §13.1.2: weak comparison — opaque parts equal, W/ ignored. */
function matchesWeak(header: string, etag: string): boolean {
  const tags = parseEtagList(header);
  if (tags === 'any') return true;
  const opaque = unquoteEtag(etag);
  return tags.some((t) => t.opaque === opaque);
}

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** Last-Modified as HTTP carries it: whole seconds. */
const toSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/**
 * Evaluates GET/HEAD preconditions in the order RFC 9110 §13.2.2 gives and S3 documents:
 * 1. If-Match false → 412 (if true, If-Unmodified-Since is not consulted — S3's
 *    "If-Match true + If-Unmodified-Since false → 200");
 * 2. otherwise If-Unmodified-Since false → 412;
 * 3. If-None-Match matching → 304 (if present, If-Modified-Since is not consulted — S3's
 *    "If-None-Match false + If-Modified-Since true → 304");
 * 4. otherwise If-Modified-Since not modified → 304.
 * Applies equally to ranged requests (the original skipped them). Dates compare at 1 s.
 */
export function evaluateConditions(object: ObjectValidators, c: Conditions): ConditionVerdict {
  const lastModified = toSeconds(object.lastModifiedMs);
  if (present(c.ifMatch)) {
    if (!matchesStrong(c.ifMatch, object.etag)) return { outcome: 'precondition-failed', condition: 'If-Match' };
  } else if (c.ifUnmodifiedSinceMs !== undefined && lastModified > c.ifUnmodifiedSinceMs) {
    return { outcome: 'precondition-failed', condition: 'If-Unmodified-Since' };
  }
  if (present(c.ifNoneMatch)) {
    if (matchesWeak(c.ifNoneMatch, object.etag)) return { outcome: 'not-modified', condition: 'If-None-Match' };
  } else if (c.ifModifiedSinceMs !== undefined && lastModified <= c.ifModifiedSinceMs) {
    return { outcome: 'not-modified', condition: 'If-Modified-Since' };
  }
  return { outcome: 'proceed' };
}

/** `evaluateConditions` reduced to its outcome: 200/206, 304 or 412. */
export function evaluateReadConditions(object: ObjectValidators, c: Conditions): ReadOutcome {
  return evaluateConditions(object, c).outcome;
}

/**
 * The `x-amz-copy-source-if-*` headers of CopyObject / UploadPartCopy, evaluated against the
 * source with the same precedence; S3 answers every failure, the 304 cases included, with 412.
 */
export function evaluateCopySourceConditions(source: ObjectValidators, c: Conditions): CopySourceOutcome {
  return evaluateConditions(source, c).outcome === 'proceed' ? 'proceed' : 'precondition-failed';
}
