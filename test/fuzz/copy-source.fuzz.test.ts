import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCopySource, parsePathStyle } from '../../domain/s3/keys.js';
import { anyChar } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * x-amz-copy-source and the request path: any bucket and key, encoded the ways SDKs and users
 * encode them (key only, or the whole value; with or without a leading slash and ?versionId=null),
 * parse back to exactly that bucket and key; anything else is a 4xx, never a crash.
 */

const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/);
const key = fc.string({ unit: fc.oneof(fc.constantFrom('/', '%', '+', '?', '&', '=', '#', ' ', '~', ';', ':'), anyChar), minLength: 1, maxLength: 30 });

/** encodeURIComponent, but leaving '/' alone (the way boto3 and most SDKs encode a key). */
const encodeKeepingSlash = (s: string): string => s.split('/').map(encodeURIComponent).join('/');

describe('fuzz: copy source and request paths', () => {
  it('parses any bucket and key back from x-amz-copy-source, however it was encoded', () => {
    const style = fc.constantFrom('key-only', 'key-keeping-slash', 'whole-value');
    fc.assert(fc.property(bucket, key, style, fc.boolean(), fc.boolean(), (b, k, how, leadingSlash, version) => {
      const raw = `${leadingSlash ? '/' : ''}${b}/${k}`;
      const encoded = how === 'whole-value' ? encodeURIComponent(raw)
        : how === 'key-only' ? `${leadingSlash ? '/' : ''}${b}/${encodeURIComponent(k)}`
          : `${leadingSlash ? '/' : ''}${b}/${encodeKeepingSlash(k)}`;
      expect(parseCopySource(`${encoded}${version ? '?versionId=null' : ''}`)).toEqual({ bucket: b, key: k });
    }), fuzzRuns(1000));
  });

  it('answers any other x-amz-copy-source with a 4xx, and never a bucket or key that is empty', () => {
    const piece = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('/', '//', '?', 'versionId=', 'null', '&', '%', '%2F', '%zz', '%00', '%C3', '%ED%A0%80', 'bkt', 'k'));
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
      const outcome = clientOutcome(() => parseCopySource(pieces.join('')));
      if (outcome.ok) {
        expect(outcome.value.bucket).not.toBe('');
        expect(outcome.value.key).not.toBe('');
      }
    }), fuzzRuns(1000));
  });

  it('splits any request path into the bucket and key it encodes', () => {
    fc.assert(fc.property(bucket, fc.option(key, { nil: undefined }), fc.string({ maxLength: 10 }), (b, k, query) => {
      const path = k === undefined ? `/${b}` : `/${b}/${encodeKeepingSlash(k)}`;
      expect(parsePathStyle(`${path}?${query}`)).toEqual({ bucket: b, key: k });
    }), fuzzRuns(500));
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (target) => {
      clientOutcome(() => parsePathStyle(target));
    }), fuzzRuns(500));
  });
});
