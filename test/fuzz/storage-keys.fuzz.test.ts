import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKEND_KEY_LIMIT, MAX_COMPONENT_BYTES, assertKeyFitsBackends, decodeKeyPath, encodeKeyPath, parseStorageKey, placementStorageKey,
  versionKeyPrefix, versionStorageKey, writeIdUnder,
} from '../../domain/objects/storage-keys.js';
import { MAX_KEY_BYTES, utf8ByteLength } from '../../domain/s3/keys.js';
import { anyChar } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Storage keys (domain/objects/storage-keys.ts): for any client key and bucket the storage key
 * decodes to exactly that key, stays inside `<bucket>/` however a file system resolves it, has
 * no `.`, `..` or empty component, no leading `/`, no NUL and no component longer than a file
 * name; and no key's versions can be mistaken for another key's or another bucket's.
 */

const ULID = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
/** S3 bucket names as the config accepts them. */
const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/);

/** Key pieces that break path mappings, ours included (`%`, `~`, ULID-like suffixes), and long multi-byte runs around the component limit. */
const piece = fc.oneof(
  fc.constantFrom('', '.', '..', '...', '%', '%%', '%2F', '%2e', '%25', '~', '-', '\0', '\n', '\r', '\x7f', '\u0085', '\ufffe', '\uffff', '\u2028', ' ', '/'),
  ULID.map((u) => `~${u}`), ULID.map((u) => `-${u}`),
  fc.string({ unit: anyChar, maxLength: 12 }),
  fc.tuple(fc.constantFrom('a', 'é', '€', '😀', '%'), fc.integer({ min: MAX_COMPONENT_BYTES - 60, max: MAX_COMPONENT_BYTES + 60 }))
    .map(([ch, bytes]) => ch.repeat(Math.max(1, Math.floor(bytes / utf8ByteLength(ch))))),
);
const clientKey = fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join(''))
  .filter((k) => k !== '' && utf8ByteLength(k) <= MAX_KEY_BYTES);

/** Valid UTF-16: no lone surrogate (those are not UTF-8, so no client can send one). */
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

function expectContained(b: string, storageKey: string): void {
  expect(storageKey.startsWith(`${b}/`)).toBe(true);
  expect(storageKey.startsWith('/')).toBe(false);
  expect(storageKey).not.toContain('\0');
  for (const component of storageKey.split('/')) {
    expect(['', '.', '..']).not.toContain(component);
    expect(utf8ByteLength(component)).toBeLessThanOrEqual(MAX_COMPONENT_BYTES);
    expect(utf8ByteLength(component)).toBeLessThanOrEqual(255);
  }
  // However a backend maps keys onto a file system, the object lands under the bucket's directory.
  expect(posix.normalize(`/srv/${storageKey}`).startsWith(`/srv/${b}/`)).toBe(true);
}

describe('fuzz: storage-key encoding', () => {
  it('decodes to the client key, stays inside its bucket and holds no forbidden component, for any key', () => {
    fc.assert(fc.property(bucket, clientKey, ULID, ULID, (b, key, writeId, placementId) => {
      const outcome = clientOutcome(() => versionStorageKey(b, key, writeId));
      if (!outcome.ok) {
        // Only a key that is not valid UTF-8 (a lone surrogate) cannot be stored.
        expect(wellFormed(key)).toBe(false);
        return;
      }
      for (const storageKey of [outcome.value, placementStorageKey(b, key, writeId, placementId)]) {
        expectContained(b, storageKey);
        const parsed = parseStorageKey(storageKey);
        expect(parsed).toMatchObject({ bucket: b, key, writeId });
        expect(parsed?.legacy).toBeUndefined();
      }
      expect(decodeKeyPath(encodeKeyPath(key))).toBe(key);
      const fits = clientOutcome(() => assertKeyFitsBackends(b, key)).ok;
      expect(fits).toBe(utf8ByteLength(placementStorageKey(b, key, writeId, placementId)) <= BACKEND_KEY_LIMIT);
    }), fuzzRuns(250));
  });

  it('never lets one key\'s or bucket\'s versions be read as another\'s', () => {
    fc.assert(fc.property(bucket, bucket, clientKey, clientKey, ULID, fc.option(ULID, { nil: undefined }), (b1, b2, k1, k2, writeId, placementId) => {
      if (!wellFormed(k1) || !wellFormed(k2) || (b1 === b2 && k1 === k2)) return;
      const other = placementId === undefined ? versionStorageKey(b2, k2, writeId) : placementStorageKey(b2, k2, writeId, placementId);
      expect(writeIdUnder(versionKeyPrefix(b1, k1), other)).toBeUndefined();
      const parsed = parseStorageKey(other);
      expect(parsed?.bucket).toBe(b2);
      expect(parsed?.key).toBe(k2);
      expect(encodeKeyPath(k1) === encodeKeyPath(k2)).toBe(k1 === k2);
    }), fuzzRuns(250));
  });

  it('reads any listed backend key as one of ours, a legacy key or nothing, never crashing', () => {
    const listed = fc.oneof(
      fc.string({ unit: fc.oneof(fc.constantFrom('/', '~', '%', '.', '-'), anyChar), maxLength: 60 }),
      fc.tuple(bucket, fc.string({ unit: fc.oneof(fc.constantFrom('/', '%', '.', '~'), anyChar), maxLength: 30 }), ULID).map(([b, p, u]) => `${b}/${p}~${u}`),
    );
    fc.assert(fc.property(listed, (storageKey) => {
      const parsed = parseStorageKey(storageKey);
      if (parsed === undefined) return;
      expect(storageKey.startsWith(`${parsed.bucket}/`)).toBe(true);
      expect(parsed.bucket).not.toContain('/');
      expect(parsed.key).not.toBe('');
      if (!parsed.legacy) expect(parsed.placementId === undefined
        ? versionStorageKey(parsed.bucket, parsed.key, parsed.writeId)
        : placementStorageKey(parsed.bucket, parsed.key, parsed.writeId, parsed.placementId)).toBe(storageKey);
    }), fuzzRuns(1000));
  });
});
