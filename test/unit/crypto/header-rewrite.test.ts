import { describe, expect, test } from 'vitest';
import type { EncryptionEnvelope } from '../../../domain/encryption/envelope.js';
import { storedSize } from '../../../domain/encryption/layout.js';
import {
  CiphertextIntegrityError, createDataKey, createStoredObjectDecryptStream, HeaderRewriteStream, headerLengthOfWrap, openDataKey, UnknownKeyIdError,
} from '../../../infra/crypto/index.js';
import { encryptParts, localKeyring, plaintextOf, randomKey, runThrough, splitInto } from '../../support/encryption.js';

const C = 4096;

/**
 * A rotation rewrites each segment header with the data key wrapped by the new master key and
 * keeps the chunks: the result decrypts from its bytes alone with the new key only, and bytes
 * that are not the recorded layout are refused rather than carried over.
 */
describe('segment header rewrite (key rotation)', () => {
  const oldKey = randomKey();
  const newKey = randomKey();

  test.each([
    ['a single PUT', [3 * C + 17], [0]],
    ['an empty object', [0], [0]],
    ['a multipart object', [2 * C, C + 5, 1], [1, 2, 3]],
  ])('%s decrypts from its rewritten bytes with the new key alone, chunks unchanged', async (_name, sizes, partNumbers) => {
    const object = encryptParts(await createDataKey(localKeyring(oldKey), C), sizes.map((n, i) => plaintextOf(n, i)), partNumbers);
    const rotated = localKeyring(newKey, oldKey);
    const wrap = await (await openDataKey(rotated, object.envelope)).rewrap(rotated);
    const envelope: EncryptionEnvelope = { ...object.envelope, headerLength: headerLengthOfWrap(wrap), key: wrap };
    const stored = await runThrough(new HeaderRewriteStream(object.envelope, wrap), splitInto(object.stored, [5, 100, C + 3]));
    expect(stored.length).toBe(storedSize(envelope));
    const fromBytes = createStoredObjectDecryptStream(localKeyring(newKey));
    expect((await runThrough(fromBytes, splitInto(stored, [1000]))).equals(object.plaintext)).toBe(true);
    expect(fromBytes.envelope()).toEqual(envelope);
    // The old key alone no longer opens it: the headers name the new one.
    await expect(runThrough(createStoredObjectDecryptStream(localKeyring(oldKey)), [stored])).rejects.toBeInstanceOf(UnknownKeyIdError);
    // The first segment's chunks are the same bytes.
    const body = (bytes: Buffer, headerLength: number) => bytes.subarray(headerLength, headerLength + Math.min(sizes[0] as number, C) + 16);
    expect(body(stored, envelope.headerLength).equals(body(object.stored, object.envelope.headerLength))).toBe(true);
  });

  test('truncated, extended or foreign bytes are refused', async () => {
    const object = encryptParts(await createDataKey(localKeyring(oldKey), C), [plaintextOf(2 * C), plaintextOf(10)], [1, 2]);
    const keyring = localKeyring(newKey, oldKey);
    const wrap = await (await openDataKey(keyring, object.envelope)).rewrap(keyring);
    const rewrite = (bytes: Buffer) => runThrough(new HeaderRewriteStream(object.envelope, wrap), [bytes]);
    await expect(rewrite(object.stored.subarray(0, object.stored.length - 1))).rejects.toMatchObject({ problem: 'truncated' });
    await expect(rewrite(Buffer.concat([object.stored, Buffer.from('x')]))).rejects.toMatchObject({ problem: 'trailing-data' });
    const other = encryptParts(await createDataKey(localKeyring(oldKey), C), [plaintextOf(2 * C), plaintextOf(10)], [1, 2]);
    await expect(rewrite(other.stored)).rejects.toBeInstanceOf(CiphertextIntegrityError);
  });
});
