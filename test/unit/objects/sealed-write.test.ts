import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { EncryptionEnvelope } from '../../../domain/encryption/envelope.js';
import { planWholeObject, type ReadPlan } from '../../../domain/encryption/read-plan.js';
import { createDataKey, decryptPlanned } from '../../../infra/crypto/index.js';
import { ObjectEncryption } from '../../../services/encryption/object-encryption.js';
import type { PutObjectInput } from '../../../services/objects/put-object.js';
import { sealBufferedPut } from '../../../services/objects/sealed-write.js';
import { bodyCheck } from '../../../services/objects/write-fan-out.js';
import { localKeyring, plaintextOf, randomKey } from '../../support/encryption.js';

describe('a buffered encrypted PUT', () => {
  test('its stored bytes are checked by the backend through their SHA-256, the client keeps its MD5', async () => {
    const keyring = localKeyring(randomKey());
    const encryption = new ObjectEncryption(keyring, { encryptWrites: true, chunkSize: 65_536 }, undefined);
    const plain = plaintextOf(4096, 3);
    const clientDigests = { md5Hex: createHash('md5').update(plain).digest('hex'), size: plain.length };
    const input: PutObjectInput = {
      bucket: 'b', key: 'k', size: plain.length, body: Readable.from([plain]), digests: () => Promise.resolve(clientDigests),
      whole: () => Promise.resolve(plain), contentType: 'application/octet-stream', metadata: {}, headers: {}, origin: 'put', cause: { actor: 'test' },
    };
    const sealed = sealBufferedPut(input, await createDataKey(keyring, 65_536), encryption);
    const { data, digests } = await (sealed.collected as NonNullable<PutObjectInput['collected']>)();
    expect(digests).toEqual({ md5Hex: '', sha256Hex: createHash('sha256').update(data).digest('hex'), size: data.length });
    expect(bodyCheck(digests)).toEqual({ payloadSha256Hex: digests.sha256Hex });
    expect(await sealed.sealed?.client()).toEqual(clientDigests);
  });

  test('the sealed input carries the client input\'s facts, the stored size and digests, and not the client\'s bytes whole', async () => {
    const keyring = localKeyring(randomKey());
    const encryption = new ObjectEncryption(keyring, { encryptWrites: true, chunkSize: 65_536 }, undefined);
    const plain = plaintextOf(4096, 5);
    const body = Readable.from([plain]);
    const precondition = (): void => undefined;
    const input: PutObjectInput = {
      bucket: 'b', key: 'k', size: plain.length, body, digests: () => Promise.resolve({ md5Hex: 'aa', size: plain.length }),
      whole: () => Promise.resolve(plain), contentType: 'text/plain', metadata: { a: '1' }, headers: { cacheControl: 'no-cache' },
      origin: 'put', cause: { actor: 'test' }, precondition,
    };
    const dataKey = await createDataKey(keyring, 65_536);
    const sealed = sealBufferedPut(input, dataKey, encryption);
    expect({ ...sealed, digests: undefined, collected: undefined, sealed: undefined }).toMatchObject({
      bucket: 'b', key: 'k', size: dataKey.storedSize(plain.length), body, contentType: 'text/plain', metadata: { a: '1' },
      headers: { cacheControl: 'no-cache' }, origin: 'put', cause: { actor: 'test' }, precondition,
    });
    expect(sealed.whole).toBeUndefined();
    const { data, digests } = await (sealed.collected as NonNullable<PutObjectInput['collected']>)();
    expect(data.length).toBe(sealed.size);
    expect(await sealed.digests()).toEqual(digests);
    const envelope = sealed.sealed?.envelope();
    expect(envelope?.segments).toEqual([{ partNumber: 0, plainSize: plain.length, salt: data.subarray(16, 32).toString('base64') }]);
    const plan = planWholeObject(envelope as EncryptionEnvelope) as ReadPlan;
    expect(Buffer.concat(decryptPlanned(plan, envelope as EncryptionEnvelope, dataKey, [data])).equals(plain)).toBe(true);
  });

  test('a plaintext body keeps Content-MD5', () => {
    const md5 = createHash('md5').update('x').digest();
    expect(bodyCheck({ md5Hex: md5.toString('hex'), sha256Hex: 'ab'.repeat(32), size: 1 })).toEqual({ contentMd5Base64: md5.toString('base64') });
  });
});
