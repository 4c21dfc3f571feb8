import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKEND_KEY_LIMIT, MAX_COMPONENT_BYTES, assertKeyFitsBackends, decodeKeyPath, encodeKeyPath, legacyVersionKeyPrefix, parseStorageKey,
  placementStorageKey, versionKeyPrefix, versionStorageKey, writeIdUnder,
} from '../../../domain/objects/storage-keys.js';
import { MAX_KEY_BYTES, utf8ByteLength } from '../../../domain/s3/keys.js';
import { errorOf } from '../../support/domain-errors.js';

const writeId = '01J9Z7Q5W3X4Y5Z6A7B8C9D0EF';
const placementId = '01J9Z7Q5W3X4Y5Z6A7B8C9D0EG';

/** What must hold of any storage key, whatever the client key (issue 8's list). */
function expectSafe(bucket: string, storageKey: string): void {
  expect(storageKey.startsWith(`${bucket}/`)).toBe(true);
  expect(storageKey).not.toContain('\0');
  expect(storageKey.startsWith('/')).toBe(false);
  for (const component of storageKey.split('/')) {
    expect(component).not.toBe('');
    expect(component).not.toBe('.');
    expect(component).not.toBe('..');
    expect(utf8ByteLength(component)).toBeLessThanOrEqual(MAX_COMPONENT_BYTES);
  }
  // A file system (s3rver) resolves it inside the bucket's directory.
  expect(posix.join('/data/backend', storageKey).startsWith(`/data/backend/${bucket}/`)).toBe(true);
}

/** Keys built from the pieces that break naive path mappings, plus any Unicode. */
const hostileKey = fc.array(
  fc.oneof(
    fc.constantFrom('', '.', '..', '%', '%2e', '%2E%2E', '%25', '~', '\0', '\n', '\x7f', '\uffff', '\ufffe', '😀', 'é', '._S3rver_object', ' '),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
  ),
  { minLength: 1, maxLength: 12 },
).map((segments) => segments.join('/'))
  .filter((k) => k !== '' && utf8ByteLength(k) <= MAX_KEY_BYTES);

describe('storage keys', () => {
  it('are the key as sent for ordinary keys (as written before keys were encoded)', () => {
    expect(versionStorageKey('alpha', 'photos/2024/a.jpg', writeId)).toBe(`alpha/photos/2024/a.jpg~${writeId}`);
    expect(placementStorageKey('alpha', 'a b+c~d', writeId, placementId)).toBe(`alpha/a b+c~d~${writeId}-${placementId}`);
    expect(versionStorageKey('alpha', '.hidden/..x/...', writeId)).toBe(`alpha/.hidden/..x/...~${writeId}`);
  });

  it.each([
    // The inputs: `/alpha/../beta/planted`, `/alpha/..%2f..%2fraw3`, `/alpha/%2e%2e/raw1`, eight `../`.
    ['../beta/planted', '%2E%2E/beta/planted'],
    ['../../raw3', '%2E%2E/%2E%2E/raw3'],
    ['../raw1', '%2E%2E/raw1'],
    [`${'../'.repeat(8)}etc/escape`, `${'%2E%2E/'.repeat(8)}etc/escape`],
    ['a/./b', 'a/%2E/b'],
    ['a//b', 'a/%/b'],
    ['/leading', '%/leading'],
    ['dir/', 'dir/%'],
    ['//', '%/%/%'],
    ['100%', '100%25'],
    ['nul\0key', 'nul%00key'],
    ['line\nbreak', 'line%0Abreak'],
    ['\uffff', '%EF%BF%BF'],
  ])('encode %j as %j and decode it back', (key, path) => {
    expect(encodeKeyPath(key)).toBe(path);
    expect(decodeKeyPath(path)).toBe(key);
    expectSafe('alpha', versionStorageKey('alpha', key, writeId));
  });

  it('cut a 950-byte segment into components a file name can hold', () => {
    const key = `big/${'x'.repeat(950)}`;
    const storageKey = placementStorageKey('alpha', key, writeId, placementId);
    expectSafe('alpha', storageKey);
    expect(storageKey.split('/').slice(2, -1).every((c) => c.endsWith('%'))).toBe(true);
    expect(parseStorageKey(storageKey)).toEqual({ bucket: 'alpha', key, writeId, placementId });
    expect(() => assertKeyFitsBackends('alpha', key)).not.toThrow();
  });

  it('never cut inside a character or an escape', () => {
    const key = `${'€'.repeat(150)}${'%'.repeat(100)}`;
    const path = encodeKeyPath(key);
    expect(path.split('/').length).toBeGreaterThan(1);
    for (const c of path.split('/')) expect(c).toMatch(/^(?:€|%25)+%?$/);
    expect(decodeKeyPath(path)).toBe(key);
  });

  it('refuse keys whose encoded form does not fit the backends with KeyTooLongError', () => {
    // Segments short enough to need no cut: the storage key is the key plus `alpha/` and 54 bytes of suffixes.
    const slashed = (n: number) => Array.from({ length: n }, (_, i) => (i % 100 === 99 ? '/' : 'k')).join('');
    expect(() => assertKeyFitsBackends('alpha', slashed(BACKEND_KEY_LIMIT - 'alpha/'.length - 54))).not.toThrow();
    expect(errorOf(() => assertKeyFitsBackends('alpha', slashed(BACKEND_KEY_LIMIT - 'alpha/'.length - 53))).code).toBe('KeyTooLongError');
    // 1000 bytes of NUL-free controls triple in size.
    expect(errorOf(() => assertKeyFitsBackends('alpha', '\n'.repeat(400))).code).toBe('KeyTooLongError');
  });

  it('hold for any key: safe, inside the bucket, within the limits when accepted, and decoding gives the key back', () => {
    fc.assert(fc.property(hostileKey, (key) => {
      const storageKey = placementStorageKey('alpha', key, writeId, placementId);
      expectSafe('alpha', storageKey);
      expect(decodeKeyPath(encodeKeyPath(key))).toBe(key);
      expect(parseStorageKey(storageKey)).toEqual({ bucket: 'alpha', key, writeId, placementId });
      expect(parseStorageKey(versionStorageKey('alpha', key, writeId))).toEqual({ bucket: 'alpha', key, writeId });
      let fits = true;
      try {
        assertKeyFitsBackends('alpha', key);
      } catch {
        fits = false;
      }
      expect(fits).toBe(utf8ByteLength(storageKey) <= BACKEND_KEY_LIMIT);
    }), { numRuns: 500 });
  });

  it('decode only what encoding produces', () => {
    for (const path of ['', 'a//b', '.', '..', 'a/../b', '%2e', 'a%2Fb', '%zz', 'a%', 'a%/', '%/', 'x%2', '%41', '%ED%A0%80']) {
      expect(decodeKeyPath(path), path).toBeUndefined();
    }
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (path) => {
      const key = decodeKeyPath(path);
      if (key !== undefined) expect(encodeKeyPath(key)).toBe(path);
    }), { numRuns: 500 });
  });

  it('parse keys written before the encoding as the key as sent', () => {
    expect(parseStorageKey(`alpha/50%off~${writeId}`)).toEqual({ bucket: 'alpha', key: '50%off', writeId, legacy: true });
    expect(parseStorageKey(`alpha/a//b~${writeId}-${placementId}`)).toEqual({ bucket: 'alpha', key: 'a//b', writeId, placementId, legacy: true });
    expect(parseStorageKey(`alpha/docs/a.txt~${writeId}`)).toEqual({ bucket: 'alpha', key: 'docs/a.txt', writeId });
    expect(parseStorageKey('alpha/no-write-id')).toBeUndefined();
    expect(parseStorageKey(`alpha/~${writeId}`)).toBeUndefined();
  });

  it('find the versions of one key under its prefix, and those written before the encoding under the old one', () => {
    expect(versionKeyPrefix('alpha', 'a//b')).toBe('alpha/a/%/b~');
    expect(legacyVersionKeyPrefix('alpha', 'a//b')).toBe('alpha/a//b~');
    expect(legacyVersionKeyPrefix('alpha', 'plain')).toBeUndefined();
    expect(writeIdUnder('alpha/k~', `alpha/k~${writeId}-${placementId}`)).toBe(writeId);
    expect(writeIdUnder('alpha/k~', `alpha/k~x~${writeId}`)).toBeUndefined();
    expect(writeIdUnder('alpha/k~', `alpha/other~${writeId}`)).toBeUndefined();
  });
});
