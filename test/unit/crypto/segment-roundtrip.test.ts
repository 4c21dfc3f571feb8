import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { EncryptionEnvelope } from '../../../domain/encryption/envelope.js';
import { segmentStoredSize, storedSize } from '../../../domain/encryption/layout.js';
import { planFullRead } from '../../../domain/encryption/read-plan.js';
import {
  createDataKey, createRangeDecryptStream, createStoredObjectDecryptStream, KeyUnwrapError, NotEncryptedError, openDataKey,
  parseSegmentHeader, SegmentEncryptStream, SegmentSealer, UnknownKeyIdError,
} from '../../../infra/crypto/index.js';
import { headerHasLayout, saltBytesOf } from '../../../infra/crypto/segment-header.js';
import { encryptParts, localKeyring, plaintextOf, randomKey, runThrough, splitInto } from '../../support/encryption.js';

const C = 4096;

async function decryptPlanned(object: ReturnType<typeof encryptParts>, keyring: ReturnType<typeof localKeyring>, sizes: number[] = [1000]) {
  const plan = planFullRead(object.envelope);
  if (!plan) return Buffer.alloc(0);
  const dataKey = await openDataKey(keyring, object.envelope);
  const fetched = object.stored.subarray(plan.backendRange.start, plan.backendRange.end + 1);
  return runThrough(createRangeDecryptStream(plan, object.envelope, dataKey), splitInto(fetched, sizes));
}

describe('single-segment round trips', () => {
  const keyring = localKeyring(randomKey());

  test.each([0, 1, C - 1, C, C + 1, 7 * C, 7 * C + 123])('%i bytes through the streams', async (size) => {
    const dataKey = await createDataKey(keyring, C);
    const plaintext = plaintextOf(size, size);
    const encryptor = new SegmentEncryptStream(dataKey, 0);
    const stored = await runThrough(encryptor, splitInto(plaintext, [1, 4095, 5000, 3]));
    expect(stored.length).toBe(dataKey.storedSize(size));
    expect(stored.length).toBe(segmentStoredSize(size, C, dataKey.headerLength));
    expect(encryptor.storedSize).toBe(stored.length);
    const envelope = EncryptionEnvelope.parse({ format: 2, chunkSize: C, headerLength: dataKey.headerLength, key: dataKey.key, segments: [encryptor.facts()] });
    expect(envelope.segments[0]?.plainSize).toBe(size);

    const fromBytes = createStoredObjectDecryptStream(keyring);
    expect((await runThrough(fromBytes, splitInto(stored, [7, 9000, 1]))).equals(plaintext)).toBe(true);
    expect(fromBytes.envelope()).toEqual(envelope);
    expect((await decryptPlanned({ plaintext, stored, envelope }, keyring, [13, 4112])).equals(plaintext)).toBe(true);
  });

  test('the stored bytes never contain the plaintext', async () => {
    const marker = Buffer.from('MARKER-4f1c9e-must-not-appear');
    const plaintext = Buffer.concat(Array.from({ length: 400 }, () => marker));
    const object = encryptParts(await createDataKey(keyring, C), [plaintext], [0]);
    expect(object.stored.includes(marker)).toBe(false);
  });

  test('two encryptions of the same plaintext share no ciphertext (fresh data key and salt)', async () => {
    const plaintext = plaintextOf(3 * C);
    const a = encryptParts(await createDataKey(keyring, C), [plaintext], [0]);
    const b = encryptParts(await createDataKey(keyring, C), [plaintext], [0]);
    const chunk = (o: typeof a) => o.stored.subarray(o.envelope.headerLength, o.envelope.headerLength + 64);
    expect(chunk(a).equals(chunk(b))).toBe(false);
  });
});

describe('multipart layouts: one segment per part', () => {
  const keyring = localKeyring(randomKey());

  test.each([
    ['two full-chunk parts', [2 * C, 2 * C]],
    ['parts ending mid-chunk', [C + 5, 3 * C - 1, 17]],
    ['an empty last part', [2 * C, 0]],
    ['one part', [C]],
    ['many small parts', [1, 2, 3, C, 5, C - 1]],
  ])('%s', async (_name, sizes) => {
    const dataKey = await createDataKey(keyring, C);
    const parts = sizes.map((size, i) => plaintextOf(size, i));
    const partNumbers = sizes.map((_, i) => 2 * i + 1);
    const object = encryptParts(dataKey, parts, partNumbers);
    expect(object.stored.length).toBe(storedSize(object.envelope));
    const fromBytes = createStoredObjectDecryptStream(keyring);
    expect((await runThrough(fromBytes, splitInto(object.stored, [333, C + 16, 1]))).equals(object.plaintext)).toBe(true);
    expect(fromBytes.envelope()).toEqual(object.envelope);
    expect((await decryptPlanned(object, keyring)).equals(object.plaintext)).toBe(true);
  });

  test('parts are encrypted independently, in any order, from the upload\'s recorded key facts', async () => {
    const created = await createDataKey(keyring, C);
    const recorded = { chunkSize: C, headerLength: created.headerLength, key: created.key };
    const parts = [plaintextOf(C + 3, 1), plaintextOf(10, 2)];
    // Part 2 first, with the key reopened from the record (another instance, after a restart).
    const second = encryptParts(await openDataKey(keyring, recorded), [parts[1] as Buffer], [2]);
    const first = encryptParts(created, [parts[0] as Buffer], [1]);
    const envelope = { ...first.envelope, segments: [...first.envelope.segments, ...second.envelope.segments] };
    const stored = Buffer.concat([first.stored, second.stored]);
    const fromBytes = createStoredObjectDecryptStream(keyring);
    expect((await runThrough(fromBytes, [stored])).equals(Buffer.concat(parts))).toBe(true);
    expect((await decryptPlanned({ plaintext: Buffer.concat(parts), stored, envelope }, keyring)).equals(Buffer.concat(parts))).toBe(true);
  });

  test('a part uploaded again under the same number gets another salt, so another key', async () => {
    const dataKey = await createDataKey(keyring, C);
    const a = new SegmentSealer(dataKey, 1);
    const b = new SegmentSealer(dataKey, 1);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.final().equals(b.final())).toBe(false);
  });

  test('streamed in any pieces, a segment is byte for byte the one sealed whole', async () => {
    const dataKey = await createDataKey(keyring, C);
    const salt = Buffer.alloc(16, 7);
    for (const size of [0, 1, C, C + 1, 3 * C, 3 * C + 17]) {
      const plaintext = plaintextOf(size, size + 1);
      const whole = new SegmentSealer(dataKey, 0, salt).sealWhole(plaintext);
      for (const sizes of [[1], [C], [C - 1, 2], [5000, 3, C * 2], [size + 1]]) {
        const sealer = new SegmentSealer(dataKey, 0, salt);
        const streamed = Buffer.concat([sealer.header, ...splitInto(plaintext, sizes).flatMap((piece) => sealer.update(piece)), sealer.final()]);
        expect(streamed.equals(whole), `${size} bytes in pieces of ${sizes.join(',')}`).toBe(true);
      }
    }
  });
});

describe('the stored format is the documented one', () => {
  test('header fields at their offsets; chunks open with raw AES-256-GCM under the HKDF-derived key, nonce and AAD', async () => {
    const master = randomKey();
    const keyring = localKeyring(master);
    const dataKey = await createDataKey(keyring, 16);
    const plaintext = plaintextOf(40, 3);
    const { stored } = encryptParts(dataKey, [plaintext], [7]);

    expect(stored.subarray(0, 5).toString('latin1')).toBe('SENC\x02');
    expect(stored[5]).toBe(1);
    const headerLength = stored.readUInt16BE(6);
    expect(headerLength).toBe(42 + 40);
    expect(stored.readUInt32BE(8)).toBe(16);
    expect(stored.readUInt32BE(12)).toBe(7);
    const salt = stored.subarray(16, 32);
    const fingerprint = createHmac('sha256', master).update('s3o/master-key-fingerprint/v1').digest().subarray(0, 8);
    expect(stored.subarray(32, 40).equals(fingerprint)).toBe(true);
    expect(stored.readUInt16BE(40)).toBe(40);
    const wrapped = stored.subarray(42, headerLength);
    const unwrap = createDecipheriv('id-aes256-wrap', master, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
    const dek = Buffer.concat([unwrap.update(wrapped), unwrap.final()]);

    const info = Buffer.concat([Buffer.from('s3o/segment-key/v2'), Buffer.from([2, 0, 0, 0, 16, 0, 0, 0, 7])]);
    const segmentKey = Buffer.from(hkdfSync('sha256', dek, salt, info, 32));
    const opened: Buffer[] = [];
    let at = headerLength;
    for (let index = 0; index < 3; index += 1) {
      const length = Math.min(16, 40 - index * 16);
      const nonce = Buffer.concat([Buffer.alloc(3), Buffer.from([0, 0, 0, 0, 0, 0, 0, index, index === 2 ? 1 : 0])]);
      const decipher = createDecipheriv('aes-256-gcm', segmentKey, nonce);
      decipher.setAAD(nonce.subarray(3));
      decipher.setAuthTag(stored.subarray(at + length, at + length + 16));
      opened.push(decipher.update(stored.subarray(at, at + length)), decipher.final());
      at += length + 16;
    }
    expect(at).toBe(stored.length);
    expect(Buffer.concat(opened).equals(plaintext)).toBe(true);
  });

  test('parseSegmentHeader reads back what was written', async () => {
    const keyring = localKeyring(randomKey());
    const dataKey = await createDataKey(keyring, 65_536);
    const sealer = new SegmentSealer(dataKey, 12);
    expect(parseSegmentHeader(sealer.header)).toEqual({
      wrapScheme: 'aes256-kw', headerLength: 82, chunkSize: 65_536, partNumber: 12, salt: sealer.salt,
      keyId: keyring.primaryKeyId, wrappedKey: Buffer.from(dataKey.key.wrappedKey, 'base64'),
    });
  });
});

describe('reading a header against a recorded segment', () => {
  test('headerHasLayout agrees with parseSegmentHeader on every layout field, and throws on what it would throw on', async () => {
    const dataKey = await createDataKey(localKeyring(randomKey()), 4096);
    const sealer = new SegmentSealer(dataKey, 3);
    const parsed = parseSegmentHeader(sealer.header);
    const layout = { headerLength: parsed.headerLength, chunkSize: parsed.chunkSize, partNumber: parsed.partNumber, salt: parsed.salt.toString('base64') };
    expect(headerHasLayout(sealer.header, layout)).toBe(true);
    expect(headerHasLayout(Buffer.concat([sealer.header, Buffer.alloc(20)]), layout)).toBe(true);
    expect(headerHasLayout(sealer.header, { ...layout, headerLength: layout.headerLength + 1 })).toBe(false);
    expect(headerHasLayout(sealer.header, { ...layout, chunkSize: 8192 })).toBe(false);
    expect(headerHasLayout(sealer.header, { ...layout, partNumber: 4 })).toBe(false);
    expect(headerHasLayout(sealer.header, { ...layout, salt: Buffer.alloc(16).toString('base64') })).toBe(false);
    const malformed: Buffer[] = [Buffer.from('plaintext, no header at all'), sealer.header.subarray(0, 50)];
    for (const [offset, value] of [[5, 9], [8, 3], [40, 7]] as const) {
      const bytes = Buffer.from(sealer.header);
      if (offset === 5) bytes[offset] = value;
      else if (offset === 8) bytes.writeUInt32BE(value, offset);
      else bytes.writeUInt16BE(value, offset);
      malformed.push(bytes);
    }
    for (const bytes of malformed) {
      const thrown = (() => {
        try {
          parseSegmentHeader(bytes);
        } catch (error) {
          return error;
        }
        throw new Error('parseSegmentHeader accepted a malformed header');
      })();
      expect(() => headerHasLayout(bytes, layout)).toThrow(thrown as Error);
    }
  });

  test('a header checked where it lies before the chunks (`available`) answers exactly as a view of its bytes', async () => {
    const dataKey = await createDataKey(localKeyring(randomKey()), 4096);
    const sealer = new SegmentSealer(dataKey, 3);
    const parsed = parseSegmentHeader(sealer.header);
    const layout = { headerLength: parsed.headerLength, chunkSize: parsed.chunkSize, partNumber: parsed.partNumber, salt: parsed.salt.toString('base64') };
    const answer = (check: () => boolean): string => {
      try {
        return String(check());
      } catch (error) {
        const e = error as Error & { problem?: string };
        return `${e.name} ${String(e.problem)} ${e.message}`;
      }
    };
    const longer = Buffer.from(sealer.header);
    longer.writeUInt16BE(parsed.headerLength + 4, 6);
    for (const header of [sealer.header, longer]) {
      const stored = Buffer.concat([header, Buffer.alloc(64, 1)]);
      for (const available of [parsed.headerLength, parsed.headerLength - 1, 50]) {
        expect(answer(() => headerHasLayout(stored, layout, available))).toBe(answer(() => headerHasLayout(stored.subarray(0, available), layout)));
      }
    }
    expect(headerHasLayout(Buffer.concat([sealer.header, Buffer.alloc(64, 1)]), layout, parsed.headerLength)).toBe(true);
  });

  test('the salt compared as decoded bytes gives the same answers as compared as base64', async () => {
    const dataKey = await createDataKey(localKeyring(randomKey()), 4096);
    const sealer = new SegmentSealer(dataKey, 3);
    const parsed = parseSegmentHeader(sealer.header);
    const salt = parsed.salt.toString('base64');
    const layout = { headerLength: parsed.headerLength, chunkSize: parsed.chunkSize, partNumber: parsed.partNumber, salt, saltBytes: saltBytesOf(salt) };
    expect(layout.saltBytes).toEqual(parsed.salt);
    expect(headerHasLayout(sealer.header, layout)).toBe(true);
    const otherSalt = Buffer.alloc(16, 7).toString('base64');
    expect(headerHasLayout(sealer.header, { ...layout, salt: otherSalt, saltBytes: saltBytesOf(otherSalt) })).toBe(false);
    expect(headerHasLayout(sealer.header, { ...layout, partNumber: 4 })).toBe(false);
    for (let at = 0; at < 16; at += 1) {
      const other = Buffer.from(parsed.salt);
      other[at] = (other[at] as number) ^ 0x80;
      expect(headerHasLayout(sealer.header, { ...layout, salt: other.toString('base64'), saltBytes: other })).toBe(false);
    }
    // Only the canonical base64 of a 16-byte salt is compared as bytes; anything else stays a string comparison.
    expect(saltBytesOf(salt.replace(/=+$/, ''))).toBeUndefined();
    expect(saltBytesOf(Buffer.alloc(15).toString('base64'))).toBeUndefined();
  });

  test('a segment key looked up by the envelope\'s base64 salt is the one derived from the salt\'s bytes', async () => {
    const keyring = localKeyring(randomKey());
    const dataKey = await createDataKey(keyring, 4096);
    const sealer = new SegmentSealer(dataKey, 5);
    const reader = await openDataKey(keyring, { chunkSize: 4096, headerLength: dataKey.headerLength, key: dataKey.key });
    const byText = reader.segmentKeyOf({ partNumber: 5, salt: sealer.salt.toString('base64') });
    expect(byText.equals(reader.segmentKey(5, sealer.salt))).toBe(true);
    expect(byText.equals(dataKey.segmentKey(5, sealer.salt))).toBe(true);
    const other = await openDataKey(keyring, { chunkSize: 4096, headerLength: dataKey.headerLength, key: dataKey.key });
    expect(other.segmentKey(5, sealer.salt).equals(byText)).toBe(true);
    // A recorded segment read again through the same object, and one with another salt or part, get their own keys.
    const recorded = { partNumber: 5, salt: sealer.salt.toString('base64') };
    expect(other.segmentKeyOf(recorded).equals(byText)).toBe(true);
    expect(other.segmentKeyOf(recorded).equals(byText)).toBe(true);
    const otherSalt = Buffer.alloc(16, 9);
    expect(other.segmentKeyOf({ partNumber: 5, salt: otherSalt.toString('base64') }).equals(other.segmentKey(5, otherSalt))).toBe(true);
    expect(other.segmentKeyOf({ partNumber: 6, salt: recorded.salt }).equals(byText)).toBe(false);
  });
});

describe('what is not a readable encrypted object', () => {
  const keyring = localKeyring(randomKey());

  test('plaintext and the original\'s v1 format are named, not decrypted', async () => {
    await expect(runThrough(createStoredObjectDecryptStream(keyring), [plaintextOf(500)])).rejects.toThrow(NotEncryptedError);
    const v1 = Buffer.concat([Buffer.from('SENC\x01', 'latin1'), Buffer.from([0, 1, 0, 0]), Buffer.alloc(23), plaintextOf(100)]);
    await expect(runThrough(createStoredObjectDecryptStream(keyring), [v1])).rejects.toThrow(/format v1 \(written by the Go s3-orchestrator\)/);
  });

  test('a wrong master key is a clear error naming the key id, never wrong bytes', async () => {
    const object = encryptParts(await createDataKey(keyring, C), [plaintextOf(100)], [0]);
    const other = localKeyring(randomKey());
    const error = await runThrough(createStoredObjectDecryptStream(other), [object.stored]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownKeyIdError);
    expect((error as UnknownKeyIdError).keyId).toBe(keyring.primaryKeyId);
    expect((error as Error).message).toContain(`wrapped by master key ${keyring.primaryKeyId}, which is not configured`);
    await expect(openDataKey(other, object.envelope)).rejects.toThrow(UnknownKeyIdError);
  });

  test('a damaged wrapped key fails its integrity check', async () => {
    const object = encryptParts(await createDataKey(keyring, C), [plaintextOf(100)], [0]);
    const wrapped = Buffer.from(object.envelope.key.wrappedKey, 'base64');
    wrapped[5] = (wrapped[5] as number) ^ 1;
    const damaged = { ...object.envelope, key: { ...object.envelope.key, wrappedKey: wrapped.toString('base64') } };
    await expect(openDataKey(keyring, damaged)).rejects.toThrow(KeyUnwrapError);
  });

  test('new segments cannot be written with a re-wrapped key of another length (the header length would change)', async () => {
    const dataKey = await createDataKey(keyring, C);
    const reopened = await openDataKey(keyring, { chunkSize: C, headerLength: dataKey.headerLength + 10, key: dataKey.key });
    expect(() => new SegmentSealer(reopened, 1)).toThrow(/re-wrapped/);
  });

  test('the data key never shows in JSON or inspection', async () => {
    const dataKey = await createDataKey(keyring, C);
    const secret = await keyring.unwrap(dataKey.key.keyId, dataKey.key.wrapScheme, Buffer.from(dataKey.key.wrappedKey, 'base64'));
    const shown = [JSON.stringify(dataKey), JSON.stringify({ dataKey }), inspect(dataKey, { showHidden: true, depth: 5 })].join('\n');
    for (const form of [secret.toString('hex'), secret.toString('base64'), JSON.stringify([...secret]).slice(1, -1), inspect(secret).slice(8, 40)]) {
      expect(shown).not.toContain(form);
    }
    expect(shown).toContain(dataKey.key.keyId);
  });
});
