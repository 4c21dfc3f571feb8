/**
 * The data key of one object version: random, 256 bits, wrapped by the primary master key when
 * it is made. All segments of the version (all parts of a multipart upload) use it, each through
 * its own derived key. The plaintext key stays inside this object: it is never enumerable,
 * serialised or logged, and callers only ever get segment keys derived from it.
 */
import type { EncryptionEnvelope, EncryptionKeyFacts } from '../../domain/encryption/envelope.js';
import { headerLengthFor, isFormatChunkSize, segmentStoredSize } from '../../domain/encryption/layout.js';
import { deriveSegmentKey, type SegmentKey } from './chunk-cipher.js';
import type { Keyring } from './keys/keyring.js';
import { pooledRandomBytes } from './random-pool.js';
import { KEY_BYTES } from './keys/master-key.js';

/** Derived segment keys a data key keeps: a read of a cached data key skips the HKDF; a multipart object of many parts cycles through. */
const SEGMENT_KEYS_KEPT = 64;

export class DataKey {
  readonly #secret: Buffer;
  /** Made on first need: a key made for one PUT derives one segment key and never looks it up again. */
  #segmentKeys: Map<string, SegmentKey> | undefined;
  /** Kept segment keys by recorded segment object; an entry goes with its segment or with this key. */
  #bySegment: WeakMap<object, SegmentKey> | undefined;
  #wrappedKey: Buffer | undefined;

  /**
   * `headerLength` is the header length of the stored segments. A key made for writing has the
   * header length of its own wrap; one opened for reading has the recorded length (a re-wrap may
   * have changed the wrap's length, not the stored bytes).
   */
  constructor(secret: Buffer, readonly chunkSize: number, readonly headerLength: number, readonly key: EncryptionKeyFacts, wrappedKey?: Buffer) {
    if (secret.length !== KEY_BYTES) throw new RangeError('a data key is 32 bytes');
    if (!isFormatChunkSize(chunkSize)) throw new RangeError(`chunk size ${chunkSize} is not a power of two from 16 bytes to 1 MiB`);
    this.#secret = Buffer.from(secret);
    this.#wrappedKey = wrappedKey;
  }

  /** `key.wrappedKey` as bytes, as segment headers hold it: given by a new key's wrap, decoded on first use otherwise. Not to be changed. */
  get wrappedKeyBytes(): Buffer {
    this.#wrappedKey ??= Buffer.from(this.key.wrappedKey, 'base64');
    return this.#wrappedKey;
  }

  /**
   * The key of a segment being written, under its fresh random salt: derived and not kept, since
   * no other segment has that salt (keeping it cost a Map and an id string per encrypted PUT).
   */
  newSegmentKey(partNumber: number, salt: Buffer): SegmentKey {
    return deriveSegmentKey(this.#secret, this.chunkSize, partNumber, salt);
  }

  segmentKey(partNumber: number, salt: Buffer): SegmentKey {
    return this.segmentKeyOf({ partNumber, salt: salt.toString('base64') }, salt);
  }

  /**
   * The same for a segment as an envelope records it (its salt in base64, decoded only when the key is not kept).
   * A recorded segment (no `saltBytes`) is immutable and read again and again through the same object: its key
   * is also found by that object, without building the id.
   */
  segmentKeyOf(segment: { readonly partNumber: number; readonly salt: string }, saltBytes?: Buffer): SegmentKey {
    const recorded = saltBytes === undefined;
    const held = recorded ? this.#bySegment?.get(segment) : undefined;
    if (held) return held;
    const id = `${segment.partNumber}:${segment.salt}`;
    let key = this.#segmentKeys?.get(id);
    if (!key) {
      key = deriveSegmentKey(this.#secret, this.chunkSize, segment.partNumber, saltBytes ?? Buffer.from(segment.salt, 'base64'));
      this.#segmentKeys ??= new Map();
      if (this.#segmentKeys.size >= SEGMENT_KEYS_KEPT) this.#segmentKeys.delete(this.#segmentKeys.keys().next().value as string);
      this.#segmentKeys.set(id, key);
    }
    if (recorded) (this.#bySegment ??= new WeakMap()).set(segment, key);
    return key;
  }

  /** The stored size of a segment of `plainSize` bytes under this key. */
  storedSize(plainSize: number): number {
    return segmentStoredSize(plainSize, this.chunkSize, this.headerLength);
  }

  /** The key wrapped by the keyring's primary key now (a rotation's re-wrap); the bytes stay as they are. */
  rewrap(keyring: Keyring): Promise<EncryptionKeyFacts> {
    return keyring.wrap(this.#secret);
  }

  toJSON(): object {
    return { chunkSize: this.chunkSize, headerLength: this.headerLength, key: this.key };
  }
}

/** A new data key for a new object version (or a new multipart upload), wrapped by the primary key. */
export async function createDataKey(keyring: Keyring, chunkSize: number): Promise<DataKey> {
  const secret = pooledRandomBytes(KEY_BYTES);
  const { facts, wrapped } = await keyring.wrapWithBytes(secret);
  return new DataKey(secret, chunkSize, headerLengthFor(wrapped.length), facts, wrapped);
}

/** The data key of a recorded envelope (or of an upload's recorded key facts). */
export async function openDataKey(keyring: Keyring, facts: Pick<EncryptionEnvelope, 'chunkSize' | 'headerLength' | 'key'>): Promise<DataKey> {
  const secret = await keyring.unwrap(facts.key.keyId, facts.key.wrapScheme, Buffer.from(facts.key.wrappedKey, 'base64'));
  return new DataKey(secret, facts.chunkSize, facts.headerLength, facts.key);
}
