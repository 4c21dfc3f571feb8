import { describe, expect, it } from 'vitest';
import {
  evaluateConditions,
  evaluateCopySourceConditions,
  evaluateReadConditions,
  type Conditions,
} from '../../../domain/s3/conditionals.js';

const T = 1_700_000_000_000; // a whole second
const object = { etag: '"0123456789abcdef0123456789abcdef"', lastModifiedMs: T + 456 };
const ETAG = '"0123456789abcdef0123456789abcdef"';
const OTHER = '"ffffffffffffffffffffffffffffffff"';
const BEFORE = T - 1000;
const AFTER = T + 1000;

describe('evaluateReadConditions — single headers', () => {
  it.each<[string, Conditions, string]>([
    ['no conditions', {}, 'proceed'],
    ['If-Match equal', { ifMatch: ETAG }, 'proceed'],
    ['If-Match unquoted', { ifMatch: '0123456789abcdef0123456789abcdef' }, 'proceed'],
    ['If-Match different', { ifMatch: OTHER }, 'precondition-failed'],
    ['If-Match *', { ifMatch: '*' }, 'proceed'],
    ['If-Match list containing it', { ifMatch: `${OTHER}, ${ETAG}` }, 'proceed'],
    ['If-Match list without it', { ifMatch: `${OTHER}, "abc"` }, 'precondition-failed'],
    ['If-Match weak (strong comparison fails)', { ifMatch: `W/${ETAG}` }, 'precondition-failed'],
    ['If-None-Match equal', { ifNoneMatch: ETAG }, 'not-modified'],
    ['If-None-Match weak equal (weak comparison)', { ifNoneMatch: `W/${ETAG}` }, 'not-modified'],
    ['If-None-Match different', { ifNoneMatch: OTHER }, 'proceed'],
    ['If-None-Match *', { ifNoneMatch: '*' }, 'not-modified'],
    ['If-None-Match list containing it', { ifNoneMatch: `"a", ${ETAG}` }, 'not-modified'],
    ['If-Modified-Since before', { ifModifiedSinceMs: BEFORE }, 'proceed'],
    ['If-Modified-Since same second', { ifModifiedSinceMs: T }, 'not-modified'],
    ['If-Modified-Since after', { ifModifiedSinceMs: AFTER }, 'not-modified'],
    ['If-Unmodified-Since before', { ifUnmodifiedSinceMs: BEFORE }, 'precondition-failed'],
    ['If-Unmodified-Since same second', { ifUnmodifiedSinceMs: T }, 'proceed'],
    ['If-Unmodified-Since after', { ifUnmodifiedSinceMs: AFTER }, 'proceed'],
    ['blank If-Match (ignored)', { ifMatch: '  ' }, 'proceed'],
  ])('given %s, then %s', (_name, conditions, expected) => {
    expect(evaluateReadConditions(object, conditions)).toBe(expected);
  });

  it('given a quoted ETag containing a comma, then the list is split on tags, not commas', () => {
    const odd = { etag: '"a,b"', lastModifiedMs: T };
    expect(evaluateReadConditions(odd, { ifMatch: '"x", "a,b"' })).toBe('proceed');
    expect(evaluateReadConditions(odd, { ifMatch: '"a"' })).toBe('precondition-failed');
  });

  it('given Last-Modified with milliseconds, then it compares at one-second resolution', () => {
    // Last-Modified is T+456 ms; the client saw "T" (whole seconds) and asks If-Modified-Since T.
    expect(evaluateReadConditions(object, { ifModifiedSinceMs: T })).toBe('not-modified');
    expect(evaluateReadConditions(object, { ifUnmodifiedSinceMs: T })).toBe('proceed');
  });
});

describe('evaluateReadConditions — combinations (RFC 9110 §13.2.2, S3 GetObject docs)', () => {
  it.each<[string, Conditions, string]>([
    // S3: If-Match true + If-Unmodified-Since false → 200.
    ['If-Match true, If-Unmodified-Since false', { ifMatch: ETAG, ifUnmodifiedSinceMs: BEFORE }, 'proceed'],
    ['If-Match false, If-Unmodified-Since true', { ifMatch: OTHER, ifUnmodifiedSinceMs: AFTER }, 'precondition-failed'],
    ['If-Match false, If-Unmodified-Since false', { ifMatch: OTHER, ifUnmodifiedSinceMs: BEFORE }, 'precondition-failed'],
    // S3: If-None-Match false + If-Modified-Since true → 304.
    ['If-None-Match false, If-Modified-Since true', { ifNoneMatch: ETAG, ifModifiedSinceMs: BEFORE }, 'not-modified'],
    ['If-None-Match true, If-Modified-Since false', { ifNoneMatch: OTHER, ifModifiedSinceMs: AFTER }, 'proceed'],
    ['If-None-Match true, If-Modified-Since true', { ifNoneMatch: OTHER, ifModifiedSinceMs: BEFORE }, 'proceed'],
    ['If-None-Match false, If-Modified-Since false', { ifNoneMatch: ETAG, ifModifiedSinceMs: AFTER }, 'not-modified'],
    ['If-Match false beats If-None-Match false (412 before 304)', { ifMatch: OTHER, ifNoneMatch: ETAG }, 'precondition-failed'],
    ['If-Match true, If-None-Match false', { ifMatch: ETAG, ifNoneMatch: ETAG }, 'not-modified'],
    ['If-Unmodified-Since false beats If-Modified-Since false', { ifUnmodifiedSinceMs: BEFORE, ifModifiedSinceMs: AFTER }, 'precondition-failed'],
    ['If-Unmodified-Since true, If-Modified-Since false', { ifUnmodifiedSinceMs: AFTER, ifModifiedSinceMs: AFTER }, 'not-modified'],
    ['all four true', { ifMatch: ETAG, ifNoneMatch: OTHER, ifModifiedSinceMs: BEFORE, ifUnmodifiedSinceMs: AFTER }, 'proceed'],
  ])('given %s, then %s', (_name, conditions, expected) => {
    expect(evaluateReadConditions(object, conditions)).toBe(expected);
  });

  it('names the header that decided, for the 412 body', () => {
    expect(evaluateConditions(object, { ifMatch: OTHER })).toEqual({ outcome: 'precondition-failed', condition: 'If-Match' });
    expect(evaluateConditions(object, { ifUnmodifiedSinceMs: BEFORE })).toEqual({
      outcome: 'precondition-failed',
      condition: 'If-Unmodified-Since',
    });
    expect(evaluateConditions(object, { ifModifiedSinceMs: AFTER })).toEqual({ outcome: 'not-modified', condition: 'If-Modified-Since' });
    expect(evaluateConditions(object, {})).toEqual({ outcome: 'proceed' });
  });
});

describe('evaluateCopySourceConditions', () => {
  it.each<[string, Conditions, string]>([
    ['none', {}, 'proceed'],
    ['if-match true', { ifMatch: ETAG }, 'proceed'],
    ['if-match false', { ifMatch: OTHER }, 'precondition-failed'],
    ['if-none-match matching (304 on GET) → 412', { ifNoneMatch: ETAG }, 'precondition-failed'],
    ['if-modified-since not modified (304 on GET) → 412', { ifModifiedSinceMs: AFTER }, 'precondition-failed'],
    ['if-unmodified-since false', { ifUnmodifiedSinceMs: BEFORE }, 'precondition-failed'],
    // S3 CopyObject docs: if-match true + if-unmodified-since false → copies.
    ['if-match true, if-unmodified-since false', { ifMatch: ETAG, ifUnmodifiedSinceMs: BEFORE }, 'proceed'],
    // S3 CopyObject docs: if-none-match false + if-modified-since true → 412.
    ['if-none-match false, if-modified-since true', { ifNoneMatch: ETAG, ifModifiedSinceMs: BEFORE }, 'precondition-failed'],
  ])('given %s, then %s', (_name, conditions, expected) => {
    expect(evaluateCopySourceConditions(object, conditions)).toBe(expected);
  });
});
