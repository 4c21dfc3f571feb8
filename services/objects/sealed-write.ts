/**
 * A PUT's bytes as they are stored when writes are encrypted: the client's body through one
 * segment's encryption. The writer handles the ciphertext exactly as it handles plaintext —
 * buffered or streamed, one copy or several, Content-MD5 and copy checks on the stored bytes —
 * while the version it commits keeps the client's size, ETag and checksum (`sealed`).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { SegmentEncryptStream, SegmentSealer, type DataKey } from '../../infra/crypto/index.js';
import { sha256Hex } from '../../infra/hash.js';
import { relay } from '../../infra/stream-relay.js';
import { collectBody } from './collect-body.js';
import type { PutObjectInput, SealedWrite, VerifiedDigests } from './put-object.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';

class HashTap extends Transform {
  constructor(readonly hash: Hash) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * The input to store for `input`, encrypted under `dataKey` as segment 0. `hashStored`: compute the
 * MD5 of the stored bytes (for Content-MD5 and for checking extra copies); without it the stored
 * digests carry no MD5, which only a single streamed copy may do.
 */
export function sealPut(input: PutObjectInput, dataKey: DataKey, encryption: ObjectEncryption, hashStored: boolean): PutObjectInput {
  const seal = new SegmentEncryptStream(dataKey, 0);
  const tap = hashStored ? new HashTap(createHash('md5')) : undefined;
  const body: Readable = tap ?? seal;
  // An error of the client's body (its verification) ends the stored body with that same error.
  relay(input.body, seal);
  if (tap) relay(seal, tap);
  const client = input.digests();
  client.catch(() => undefined);
  let counted = false;
  // The client's bytes whole are not the stored ones.
  const { whole: _clientBytes, ...stored } = input;
  return {
    ...stored,
    body,
    size: dataKey.storedSize(input.size),
    digests: async (): Promise<VerifiedDigests> => {
      await client;
      // The stored bytes end after the client's: their size and hash are known once they have.
      await finished(body, { writable: false });
      return { md5Hex: tap ? tap.hash.copy().digest('hex') : '', size: seal.storedSize };
    },
    sealed: {
      client: () => client,
      envelope: () => {
        if (!counted) encryption.counted('encrypt');
        counted = true;
        return encryption.envelope(dataKey, [seal.facts()]);
      },
    },
  };
}

/**
 * The same for a body the writer buffers anyway (its stored size within the buffer limit): the
 * client's bytes are collected, sealed in one go into one buffer and hashed, with no stream per
 * step. The writer takes the stored bytes from `collected`. The backend checks them by their
 * SHA-256 (the signed payload hash) rather than by Content-MD5: on a 4 KiB PUT the MD5 of the
 * stored bytes cost 6 µs, the SHA-256 2.5 (SHA extensions), and the MD5 here has no other use.
 */
export function sealBufferedPut(input: PutObjectInput, dataKey: DataKey, encryption: ObjectEncryption): PutObjectInput {
  return new SealedBufferedPut(input, dataKey, encryption);
}

/**
 * The input `sealBufferedPut` hands the writer. A class with its fields written out rather than
 * Object.assign of the client's input: that copy took V8's generic property-copying path
 * (SetDataProperties, ~2 us of the encrypted gateway's main thread per 4 KiB PUT under perf).
 * The client's bytes whole (`whole`) are not the stored ones and are not carried over.
 */
class SealedBufferedPut implements PutObjectInput {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly body: Readable;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
  readonly headers: PutObjectInput['headers'];
  readonly origin: PutObjectInput['origin'];
  readonly cause: PutObjectInput['cause'];
  readonly precondition: PutObjectInput['precondition'];
  readonly sealed: SealedWrite;
  readonly #input: PutObjectInput;
  readonly #sealer: SegmentSealer;
  readonly #clientDigests: Promise<VerifiedDigests>;
  #stored: Promise<{ data: Buffer; digests: VerifiedDigests }> | undefined;

  constructor(input: PutObjectInput, dataKey: DataKey, encryption: ObjectEncryption) {
    this.#input = input;
    this.#sealer = new SegmentSealer(dataKey, 0);
    const client = input.digests();
    client.catch(() => undefined);
    this.#clientDigests = client;
    this.bucket = input.bucket;
    this.key = input.key;
    this.size = dataKey.storedSize(input.size);
    this.body = input.body;
    this.contentType = input.contentType;
    this.metadata = input.metadata;
    this.headers = input.headers;
    this.origin = input.origin;
    this.cause = input.cause;
    this.precondition = input.precondition;
    const sealer = this.#sealer;
    let counted = false;
    this.sealed = {
      client: () => client,
      envelope: () => {
        if (!counted) encryption.counted('encrypt');
        counted = true;
        return encryption.envelope(dataKey, [sealer.facts()]);
      },
    };
  }

  /** Arrow fields, as the object literal's were: they work called detached too. */
  readonly digests = async (): Promise<VerifiedDigests> => (await this.collected()).digests;

  readonly collected = (): Promise<{ data: Buffer; digests: VerifiedDigests }> => {
    this.#stored ??= this.#seal();
    return this.#stored;
  };

  async #seal(): Promise<{ data: Buffer; digests: VerifiedDigests }> {
    const input = this.#input;
    const plain = await (input.whole?.() ?? collectBody(input.body, input.size));
    await this.#clientDigests;
    const data = this.#sealer.sealWhole(plain);
    return { data, digests: { md5Hex: '', sha256Hex: sha256Hex(data), size: data.length } };
  }
}
