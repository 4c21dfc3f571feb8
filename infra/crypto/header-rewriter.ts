/**
 * A key rotation's rewrite of stored bytes: every segment's header is replaced by one holding
 * the data key wrapped by the new master key, and the chunks after it pass through untouched.
 * The data key does not change, and the fields the chunks are bound to (format, chunk size,
 * part number, salt) are kept, so the same ciphertext stays valid; only the key fields — which
 * the chunks are deliberately not bound to — and the header length change. The old headers are
 * checked against the recorded layout first: bytes that are not the version's are never carried
 * over under a new header.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { SEGMENT_SALT_BYTES, type EncryptionEnvelope, type EncryptionKeyFacts } from '../../domain/encryption/envelope.js';
import { headerLengthFor, segmentStoredSize } from '../../domain/encryption/layout.js';
import { ByteQueue } from './byte-queue.js';
import { CiphertextIntegrityError } from './errors.js';
import { encodeSegmentHeader, parseSegmentHeader } from './segment-header.js';

/** The header length of segments carrying `wrap`'s wrapped data key. */
export function headerLengthOfWrap(wrap: EncryptionKeyFacts): number {
  return headerLengthFor(Buffer.from(wrap.wrappedKey, 'base64').length);
}

export class HeaderRewriteStream extends Transform {
  readonly #queue = new ByteQueue();
  readonly #headers: Buffer[];
  #segment = 0;
  /** Chunk bytes of the current segment still to pass through; undefined while its header is awaited. */
  #bodyLeft: number | undefined;

  /** `layout` is the version's recorded envelope (the stored bytes), `wrap` the new wrap of its data key. */
  constructor(private readonly layout: Pick<EncryptionEnvelope, 'chunkSize' | 'headerLength' | 'segments'>, wrap: EncryptionKeyFacts) {
    super();
    const wrappedKey = Buffer.from(wrap.wrappedKey, 'base64');
    this.#headers = layout.segments.map((s) => encodeSegmentHeader({
      wrapScheme: wrap.wrapScheme, chunkSize: layout.chunkSize, partNumber: s.partNumber, salt: Buffer.from(s.salt, 'base64'), keyId: wrap.keyId, wrappedKey,
    }));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#queue.push(chunk);
      this.#drain();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#segment < this.layout.segments.length || this.#queue.length > 0) {
      callback(this.#segment < this.layout.segments.length
        ? new CiphertextIntegrityError('truncated', `the stored object ends in segment ${this.#segment + 1} of ${this.layout.segments.length}`, { segment: this.#segment })
        : new CiphertextIntegrityError('trailing-data', 'the stored object is longer than its recorded layout'));
      return;
    }
    callback();
  }

  #drain(): void {
    const { segments, chunkSize, headerLength } = this.layout;
    while (this.#queue.length > 0) {
      const segment = segments[this.#segment];
      if (segment === undefined) throw new CiphertextIntegrityError('trailing-data', 'the stored object is longer than its recorded layout');
      if (this.#bodyLeft === undefined) {
        if (this.#queue.length < headerLength) return;
        const old = parseSegmentHeader(this.#queue.take(headerLength));
        if (old.headerLength !== headerLength || old.chunkSize !== chunkSize || old.partNumber !== segment.partNumber
          || old.salt.length !== SEGMENT_SALT_BYTES || old.salt.toString('base64') !== segment.salt) {
          throw new CiphertextIntegrityError('header', `segment ${this.#segment + 1}'s header disagrees with the recorded envelope`, { segment: this.#segment });
        }
        this.push(this.#headers[this.#segment]);
        this.#bodyLeft = segmentStoredSize(segment.plainSize, chunkSize, headerLength) - headerLength;
      }
      const count = Math.min(this.#bodyLeft, this.#queue.length);
      if (count > 0) this.push(this.#queue.take(count));
      this.#bodyLeft -= count;
      if (this.#bodyLeft === 0) {
        this.#segment += 1;
        this.#bodyLeft = undefined;
      }
    }
  }
}
