/**
 * Encrypts one segment — a whole single-PUT body or one part of a multipart upload — as it
 * streams, with memory bounded by one chunk. The length need not be known in advance: a full
 * chunk is held until more plaintext arrives (then it is not the final chunk) or the input ends
 * (then it is). When it is known, `DataKey.storedSize(length)` gives the Content-Length to send.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { SEGMENT_SALT_BYTES, type EncryptedSegment } from '../../domain/encryption/envelope.js';
import { CHUNK_TAG_BYTES, chunkCount, headerLengthFor } from '../../domain/encryption/layout.js';
import { sealChunkInto, sealChunkPieces, type SegmentKey } from './chunk-cipher.js';
import type { DataKey } from './data-key.js';
import { pooledRandomBytes } from './random-pool.js';
import { encodedHeaderLength, encodeSegmentHeader, encodeSegmentHeaderInto, type SegmentHeader } from './segment-header.js';

export class SegmentSealer {
  readonly salt: Buffer;
  /** The salt as the envelope records it (base64). */
  readonly #saltText: string;
  /** What the segment header says; the header itself is made on first use (a buffered PUT writes it into its stored bytes). */
  readonly #headerFields: Omit<SegmentHeader, 'headerLength'>;
  readonly #headerLength: number;
  #header: Buffer | undefined;
  readonly #partNumber: number;
  readonly #key: SegmentKey;
  readonly #chunkSize: number;
  /** Plaintext of the chunk being filled, as views of the buffers it came in (not copied). */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #index = 0;
  #plainSize = 0;
  #sealedBytes = 0;
  #finished = false;

  /** `salt` is random unless a known-answer test fixes it. */
  constructor(dataKey: DataKey, partNumber: number, salt: Buffer = pooledRandomBytes(SEGMENT_SALT_BYTES)) {
    const wrappedKey = dataKey.wrappedKeyBytes;
    if (headerLengthFor(wrappedKey.length) !== dataKey.headerLength) {
      // Every segment of a version must have the same header length; encrypt all parts of an upload with its original wrap.
      throw new RangeError('this data key was re-wrapped since its segments were written; encrypt new segments with the wrap recorded when the data key was made');
    }
    this.salt = salt;
    this.#saltText = salt.toString('base64');
    this.#partNumber = partNumber;
    this.#headerFields = { wrapScheme: dataKey.key.wrapScheme, chunkSize: dataKey.chunkSize, partNumber, salt, keyId: dataKey.key.keyId, wrappedKey };
    this.#headerLength = encodedHeaderLength(this.#headerFields);
    this.#key = dataKey.newSegmentKey(partNumber, salt);
    this.#chunkSize = dataKey.chunkSize;
  }

  /** The segment header: the first bytes to store. */
  get header(): Buffer {
    this.#header ??= encodeSegmentHeader(this.#headerFields);
    return this.#header;
  }

  get plainSize(): number {
    return this.#plainSize;
  }

  /** Bytes of the stored segment so far, header included. */
  get storedSize(): number {
    return this.#headerLength + this.#sealedBytes;
  }

  /**
   * The stored bytes of the chunks this plaintext completes, in order, as the cipher's buffers
   * (each chunk's ciphertext in one or more pieces, then its tag; a full chunk waits until more
   * plaintext follows it). `data` is kept by reference until its chunk is sealed: it must not
   * change after this call.
   */
  update(data: Buffer): Buffer[] {
    if (this.#finished) throw new Error('the segment is already finished');
    const out: Buffer[] = [];
    const chunkSize = this.#chunkSize;
    let at = 0;
    this.#plainSize += data.length;
    while (at < data.length) {
      if (this.#heldBytes === chunkSize) out.push(...this.#seal(false));
      const count = Math.min(chunkSize - this.#heldBytes, data.length - at);
      this.#held.push(count === data.length ? data : data.subarray(at, at + count));
      this.#heldBytes += count;
      at += count;
    }
    return out;
  }

  /** The final chunk (an empty segment gets an empty one). */
  final(): Buffer {
    if (this.#finished) throw new Error('the segment is already finished');
    this.#finished = true;
    const pieces = this.#seal(true);
    return pieces.length === 1 ? pieces[0] as Buffer : Buffer.concat(pieces);
  }

  /**
   * The whole stored segment, header included, for plaintext held whole (a buffered PUT): one
   * buffer written in place, no chunk buffers to join. Only on a sealer that has not started.
   */
  sealWhole(plain: Buffer): Buffer {
    if (this.#finished || this.#plainSize > 0) throw new Error('the segment has already started');
    this.#finished = true;
    this.#plainSize = plain.length;
    const chunkSize = this.#chunkSize;
    const chunks = chunkCount(plain.length, chunkSize);
    const out = Buffer.allocUnsafe(this.#headerLength + plain.length + chunks * CHUNK_TAG_BYTES);
    let at = encodeSegmentHeaderInto(this.#headerFields, out, 0);
    for (let index = 0; index < chunks; index += 1) {
      at = sealChunkInto(this.#key, index, index === chunks - 1, plain.subarray(index * chunkSize, (index + 1) * chunkSize), out, at);
    }
    this.#index = chunks;
    this.#sealedBytes = at - this.#headerLength;
    return out;
  }

  /** The segment's facts for the envelope; only once it is finished. */
  facts(): EncryptedSegment {
    if (!this.#finished) throw new Error('the segment is not finished yet');
    return { partNumber: this.#partNumber, plainSize: this.#plainSize, salt: this.#saltText };
  }

  #seal(final: boolean): Buffer[] {
    const sealed = sealChunkPieces(this.#key, this.#index, final, this.#held);
    this.#sealedBytes += this.#heldBytes + CHUNK_TAG_BYTES;
    this.#held = [];
    this.#heldBytes = 0;
    this.#index += 1;
    return sealed;
  }
}

/**
 * Stored bytes the stream gathers before it pushes them, joined into one buffer. Pushed as the
 * cipher gives them, a 64 KiB chunk fed 64 KiB socket reads is 3 buffers (its ciphertext in the
 * two reads it spans, then its tag), and each became a socket write to the backend, the 16-byte
 * tag a TCP segment of its own. The join copies each byte once; the batch bounds the memory.
 * 1 MiB rather than 256 KiB: a quarter of the pushes, writes and waits for the backend socket to
 * drain (gateway main thread on the 64 MiB PUT bench: ~2,150 -> ~2,000 ms/GB).
 */
const BATCH_BYTES = 1024 * 1024;

/** A Transform from a segment's plaintext to its stored bytes (header first); `facts()` once it has ended. */
export class SegmentEncryptStream extends Transform {
  readonly #sealer: SegmentSealer;
  #batch: Buffer[];
  #batchBytes: number;

  constructor(dataKey: DataKey, partNumber: number) {
    super();
    this.#sealer = new SegmentSealer(dataKey, partNumber);
    this.#batch = [this.#sealer.header];
    this.#batchBytes = this.#sealer.header.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const sealed of this.#sealer.update(chunk)) {
      this.#batch.push(sealed);
      this.#batchBytes += sealed.length;
    }
    if (this.#batchBytes >= BATCH_BYTES) this.#pushBatch();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const final = this.#sealer.final();
    this.#batch.push(final);
    this.#batchBytes += final.length;
    this.#pushBatch();
    callback();
  }

  facts(): EncryptedSegment {
    return this.#sealer.facts();
  }

  get storedSize(): number {
    return this.#sealer.storedSize;
  }

  #pushBatch(): void {
    const batch = this.#batch;
    this.push(batch.length === 1 ? batch[0] as Buffer : Buffer.concat(batch, this.#batchBytes));
    this.#batch = [];
    this.#batchBytes = 0;
  }
}
