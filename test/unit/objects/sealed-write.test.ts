import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createDataKey } from '../../../infra/crypto/index.js';
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

  test('a plaintext body keeps Content-MD5', () => {
    const md5 = createHash('md5').update('x').digest();
    expect(bodyCheck({ md5Hex: md5.toString('hex'), sha256Hex: 'ab'.repeat(32), size: 1 })).toEqual({ contentMd5Base64: md5.toString('base64') });
  });
});
