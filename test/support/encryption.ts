/** Helpers for the encryption tests: local keyrings, encrypting layouts, running the streams. */
import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import { FORMAT_VERSION } from '../../domain/encryption/layout.js';
import { SegmentSealer, type DataKey } from '../../infra/crypto/index.js';
import { Keyring } from '../../infra/crypto/keys/keyring.js';
import { LocalMasterKey } from '../../infra/crypto/keys/local-master-key.js';

/** A keyring of local keys: the first is the primary (`config-0`), the rest previous keys (`config-1…`). */
export function localKeyring(primary: Buffer, ...previous: Buffer[]): Keyring {
  return new Keyring(
    new LocalMasterKey(primary, ['config-0'], 'encryption.master_key'),
    previous.map((key, i) => new LocalMasterKey(key, [`config-${i + 1}`], `encryption.previous_keys[${i}]`)),
  );
}

export const randomKey = (): Buffer => randomBytes(32);

/** Deterministic plaintext of `size` bytes, different for each `seed`. */
export function plaintextOf(size: number, seed = 0): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

export interface EncryptedObject {
  readonly plaintext: Buffer;
  readonly stored: Buffer;
  readonly envelope: EncryptionEnvelope;
}

/**
 * Encrypts parts back to back as the data path will: one segment per part (part numbers
 * `partNumbers`, default 1…n), or one segment with part number 0 when `partNumbers` is [0].
 */
export function encryptParts(dataKey: DataKey, parts: readonly Buffer[], partNumbers: readonly number[] = parts.map((_, i) => i + 1)): EncryptedObject {
  const stored: Buffer[] = [];
  const segments = parts.map((part, i) => {
    const sealer = new SegmentSealer(dataKey, partNumbers[i] as number);
    stored.push(sealer.header, ...sealer.update(part), sealer.final());
    return sealer.facts();
  });
  return {
    plaintext: Buffer.concat(parts),
    stored: Buffer.concat(stored),
    envelope: { format: FORMAT_VERSION, chunkSize: dataKey.chunkSize, headerLength: dataKey.headerLength, key: dataKey.key, segments },
  };
}

/** Splits bytes into pieces of the given sizes (cycled), as a network would deliver them. */
export function splitInto(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i += 1) {
    const size = Math.max(1, sizes[i % sizes.length] ?? bytes.length);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Runs pieces through a transform and returns what comes out (rejects with the transform's error). */
export async function runThrough(transform: Transform, pieces: readonly Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}
