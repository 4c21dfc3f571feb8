import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { rotationScope } from '../../../domain/encryption/rotation-scope.js';
import {
  createDataKey, createKeyring, createStoredObjectDecryptStream, KeySourceError, localKeyFingerprint, openDataKey, UnknownKeyAliasError,
  UnknownKeyIdError, type EncryptionKeySettings,
} from '../../../infra/crypto/index.js';
import { LocalMasterKey } from '../../../infra/crypto/keys/local-master-key.js';
import { encryptParts, plaintextOf, runThrough } from '../../support/encryption.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const keyC = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');

const settings = (overrides: Partial<EncryptionKeySettings>): EncryptionKeySettings => ({
  master_key: null, master_key_file: null, vault: null, previous_keys: [], ...overrides,
});

const dir = mkdtempSync(join(tmpdir(), 's3o-keyring-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fingerprints', () => {
  test('a local key id is HMAC-SHA256 of a fixed label under the key, first 8 bytes: stable, and never the key', () => {
    const expected = createHmac('sha256', keyA).update('s3o/master-key-fingerprint/v1').digest('hex').slice(0, 16);
    expect(localKeyFingerprint(keyA)).toBe(expected);
    expect(localKeyFingerprint(Buffer.from(keyA))).toBe(expected);
    expect(localKeyFingerprint(keyB)).not.toBe(expected);
    expect(keyA.toString('hex')).not.toContain(expected);
  });

  test('ids follow the keys, aliases follow the positions, when previous_keys are reordered', async () => {
    const one = await createKeyring(settings({ master_key: b64(keyC), previous_keys: [b64(keyA), b64(keyB)] }));
    const two = await createKeyring(settings({ master_key: b64(keyC), previous_keys: [b64(keyB), b64(keyA)] }));
    const [a, b, c] = [keyA, keyB, keyC].map(localKeyFingerprint);
    expect([one.resolve('config-0'), one.resolve('config-1'), one.resolve('config-2')]).toEqual([c, a, b]);
    expect([two.resolve('config-0'), two.resolve('config-1'), two.resolve('config-2')]).toEqual([c, b, a]);

    // Data wrapped under A (when it was the primary) reads with either order.
    const old = await createKeyring(settings({ master_key: b64(keyA) }));
    const object = encryptParts(await createDataKey(old, 4096), [plaintextOf(5000)], [0]);
    expect(object.envelope.key).toMatchObject({ keyId: a, keyAlias: 'config-0' });
    for (const keyring of [one, two]) {
      expect((await runThrough(createStoredObjectDecryptStream(keyring), [object.stored])).equals(object.plaintext)).toBe(true);
      await expect(openDataKey(keyring, object.envelope)).resolves.toBeDefined();
    }
  });
});

describe('local key wrap (AES-256 key wrap, RFC 3394)', () => {
  const defaultIv = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

  test('RFC 3394 §4.6 known answer, also as a key\'s second and later wraps', async () => {
    const kek = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const keyData = Buffer.from('00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f', 'hex');
    const expected = '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21';
    const master = new LocalMasterKey(kek, ['config-0'], 'test');
    expect((await master.wrap(keyData)).toString('hex')).toBe(expected);
    await master.wrap(randomBytes(32));
    expect((await master.wrap(keyData)).toString('hex')).toBe(expected);
  });

  test('every wrap by one key equals a wrap by a fresh cipher, and unwraps', async () => {
    const master = new LocalMasterKey(keyA, ['config-0'], 'test');
    for (let i = 0; i < 50; i += 1) {
      const dataKey = randomBytes(32);
      const fresh = createCipheriv('id-aes256-wrap', keyA, defaultIv);
      const wrapped = await master.wrap(dataKey);
      expect(wrapped.equals(Buffer.concat([fresh.update(dataKey), fresh.final()]))).toBe(true);
      expect((await master.unwrap(wrapped)).equals(dataKey)).toBe(true);
    }
  });
});

describe('aliases', () => {
  test('config-N, file-0, fingerprints; an unknown name is a typed error listing what is known', async () => {
    const path = join(dir, 'primary.key');
    writeFileSync(path, keyB, { mode: 0o600 });
    const keyring = await createKeyring(settings({ master_key_file: path, previous_keys: [b64(keyA)] }));
    expect(keyring.primaryAlias).toBe('file-0');
    expect(keyring.resolve('file-0')).toBe(localKeyFingerprint(keyB));
    expect(keyring.resolve('config-1')).toBe(localKeyFingerprint(keyA));
    expect(keyring.resolve('config-0')).toBeUndefined();
    expect(keyring.resolve(localKeyFingerprint(keyA))).toBe(localKeyFingerprint(keyA));
    expect(() => keyring.resolveOrThrow('config-7')).toThrow(UnknownKeyAliasError);
    expect(() => keyring.resolveOrThrow('config-7')).toThrow(/no configured master key is called "config-7" \(known: file-0, config-1, /);
  });

  test('an unknown key id on unwrap is a typed error naming the id and the configured keys', async () => {
    const keyring = await createKeyring(settings({ master_key: b64(keyA) }));
    const error = await keyring.unwrap('00112233aabbccdd', 'aes256-kw', Buffer.alloc(40)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownKeyIdError);
    expect((error as UnknownKeyIdError).keyId).toBe('00112233aabbccdd');
    expect((error as Error).message).toContain(`configured: config-0=${localKeyFingerprint(keyA)}`);
    expect((error as Error).message).not.toContain(b64(keyA));
  });
});

describe('the manual\'s rotation procedure, on key ids', () => {
  test('new key in master_key, old one in previous_keys, rotate --old-key-id config-0, drop the old key: everything reads', async () => {
    const before = await createKeyring(settings({ master_key: b64(keyA) }));
    const objects = await Promise.all([1, 2, 3].map(async (seed) => encryptParts(await createDataKey(before, 4096), [plaintextOf(3000, seed)], [0])));

    const during = await createKeyring(settings({ master_key: b64(keyB), previous_keys: [b64(keyA)] }));
    const written = encryptParts(await createDataKey(during, 4096), [plaintextOf(100, 9)], [0]);
    const scope = rotationScope('config-0', during);
    expect(objects.every((o) => scope.selects(o.envelope.key))).toBe(true);
    expect(scope.selects(written.envelope.key)).toBe(false);

    // Re-wrap (metadata only): the bytes stay, the envelope's key facts change.
    const rotated = await Promise.all(objects.map(async (o) => ({
      ...o, envelope: { ...o.envelope, key: await (await openDataKey(during, o.envelope)).rewrap(during) },
    })));
    expect(rotated.every((o) => o.envelope.key.keyId === localKeyFingerprint(keyB) && o.envelope.key.keyAlias === 'config-0')).toBe(true);

    const after = await createKeyring(settings({ master_key: b64(keyB) }));
    for (const object of [...rotated, written]) {
      const dataKey = await openDataKey(after, object.envelope);
      expect(dataKey.key.keyId).toBe(localKeyFingerprint(keyB));
    }
    // The stored headers keep the wrap of the time they were written: reading from the bytes alone still needs the old key.
    await expect(runThrough(createStoredObjectDecryptStream(after), [rotated[0]?.stored as Buffer])).rejects.toThrow(UnknownKeyIdError);
  });
});

describe('key sources', () => {
  const fileWith = (name: string, bytes: Buffer, mode: number) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    chmodSync(path, mode);
    return path;
  };

  test.each([0o600, 0o400])('master_key_file with mode %o is read', async (mode) => {
    const keyring = await createKeyring(settings({ master_key_file: fileWith(`ok-${mode}.key`, keyC, mode) }));
    expect(keyring.primaryKeyId).toBe(localKeyFingerprint(keyC));
  });

  test.each([
    ['readable by others', () => fileWith('open.key', keyC, 0o644), /^encryption\.master_key_file: .*open\.key has mode 0644; it holds a secret/],
    ['readable by the group', () => fileWith('group.key', keyC, 0o640), /has mode 0640/],
    ['too short', () => fileWith('short.key', keyC.subarray(0, 31), 0o600), /must hold exactly 32 raw bytes, it holds 31/],
    ['base64 text instead of raw bytes', () => fileWith('text.key', Buffer.from(`${b64(keyC)}\n`), 0o600), /is 45 bytes, more than the 32 expected/],
    ['missing', () => join(dir, 'nope.key'), /^encryption\.master_key_file: cannot read .*nope\.key: file not found/],
    ['a directory', () => {
      const path = join(dir, 'a-dir');
      mkdirSync(path, { recursive: true, mode: 0o700 });
      return path;
    }, /is not a regular file|is a directory/],
  ])('master_key_file %s is refused, naming the field', async (_name, make, message) => {
    const error = await createKeyring(settings({ master_key_file: make() })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message).toMatch(message);
  });

  test.each([
    ['two sources', settings({ master_key: b64(keyA), master_key_file: '/k' }), 'encryption: set exactly one of master_key, master_key_file and vault (found master_key and master_key_file)'],
    ['no source', settings({}), 'encryption: set exactly one of master_key, master_key_file and vault'],
    ['a short inline key', settings({ master_key: b64(keyA.subarray(0, 16)) }), 'encryption.master_key: must be a base64-encoded 32-byte key, but it decodes to 16 bytes'],
    ['a previous key that is not base64', settings({ master_key: b64(keyA), previous_keys: [b64(keyB), 'not base64!'] }), 'encryption.previous_keys[1]: must be a base64-encoded 32-byte key'],
    ['the primary again in previous_keys', settings({ master_key: b64(keyA), previous_keys: [b64(keyB), b64(keyA)] }), 'encryption.previous_keys[1]: is the same key as encryption.master_key'],
  ])('%s is refused, naming the field and never the key', async (_name, input, message) => {
    const error = await createKeyring(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message.startsWith(message)).toBe(true);
    for (const key of [keyA, keyB]) expect((error as Error).message).not.toContain(b64(key));
  });
});
