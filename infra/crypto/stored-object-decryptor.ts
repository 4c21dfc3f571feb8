/**
 * Decrypts a whole stored object from its bytes alone (with the keyring): for recovery without
 * the log and for `s3o sync` imports, which also need the envelope facts the bytes imply
 * (`envelope()` once the stream has ended).
 *
 * Without the recorded layout the reader does not know where a segment's final chunk ends. A
 * chunk is taken as a full non-final chunk if it authenticates as one; otherwise as the final
 * chunk ending where the bytes end or where the next segment's header starts ("SENC" 0x02 at a
 * position a final chunk could end). Authentication decides, so a wrong guess can only cost a
 * failed attempt, never wrong plaintext. What the bytes alone cannot show is a whole part
 * missing from a multipart object (parts may be numbered with gaps); the recorded envelope can.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { EncryptedSegment, EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import { CHUNK_TAG_BYTES, FORMAT_VERSION } from '../../domain/encryption/layout.js';
import { ByteQueue } from './byte-queue.js';
import { openChunk, type SegmentKey } from './chunk-cipher.js';
import { DataKey } from './data-key.js';
import { CiphertextIntegrityError } from './errors.js';
import type { Keyring } from './keys/keyring.js';
import { HEADER_PREFIX_BYTES, headerLengthOf, parseSegmentHeader, startsLikeSegment, type SegmentHeader } from './segment-header.js';

/** Bytes after a chunk that show whether a segment header starts there. */
const LOOKAHEAD = 5;

interface OpenSegment {
  readonly header: SegmentHeader;
  readonly key: SegmentKey;
  index: number;
  plainSize: number;
}

/** Told of each piece of authenticated plaintext and the segment (0-based) it belongs to. */
export type PlaintextObserver = (segment: number, plain: Buffer) => void;

export class StoredObjectDecryptStream extends Transform {
  readonly #keyring: Keyring;
  readonly #observe: PlaintextObserver | undefined;
  readonly #queue = new ByteQueue();
  readonly #segments: EncryptedSegment[] = [];
  #first: SegmentHeader | undefined;
  #dataKey: DataKey | undefined;
  #open: OpenSegment | undefined;
  #ended = false;

  constructor(keyring: Keyring, observe?: PlaintextObserver) {
    super();
    this.#keyring = keyring;
    this.#observe = observe;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#queue.push(chunk);
    this.#pump().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#ended = true;
    this.#pump().then(() => {
      if (this.#segments.length === 0) throw new CiphertextIntegrityError('truncated', 'the object is empty: an encrypted object has at least one segment');
      callback();
    }).catch(callback);
  }

  /** The envelope facts of the object, once the stream has ended. The alias is the key's alias now. */
  envelope(): EncryptionEnvelope {
    const first = this.#first;
    if (!first || this.#open || !this.#ended) throw new Error('the object has not been read to its end');
    return {
      format: FORMAT_VERSION,
      chunkSize: first.chunkSize,
      headerLength: first.headerLength,
      key: { keyId: first.keyId, keyAlias: this.#keyring.aliasOf(first.keyId) ?? first.keyId, wrapScheme: first.wrapScheme, wrappedKey: first.wrappedKey.toString('base64') },
      segments: [...this.#segments],
    };
  }

  async #pump(): Promise<void> {
    for (;;) {
      if (this.#open) {
        if (!this.#nextChunk(this.#open)) return;
        continue;
      }
      if (this.#queue.length === 0) return;
      if (this.#queue.length < HEADER_PREFIX_BYTES || this.#queue.length < headerLengthOf(this.#queue.peek(HEADER_PREFIX_BYTES))) {
        if (this.#ended) throw new CiphertextIntegrityError('truncated', 'the object ends inside a segment header', { segment: this.#segments.length });
        return;
      }
      const header = parseSegmentHeader(this.#queue.take(headerLengthOf(this.#queue.peek(HEADER_PREFIX_BYTES))));
      const dataKey = await this.#dataKeyFor(header);
      this.#open = { header, key: dataKey.segmentKey(header.partNumber, header.salt), index: 0, plainSize: 0 };
    }
  }

  async #dataKeyFor(header: SegmentHeader): Promise<DataKey> {
    const first = this.#first;
    const segment = this.#segments.length;
    if (!first) {
      this.#first = header;
      const secret = await this.#keyring.unwrap(header.keyId, header.wrapScheme, header.wrappedKey);
      this.#dataKey = new DataKey(secret, header.chunkSize, header.headerLength, {
        keyId: header.keyId, keyAlias: this.#keyring.aliasOf(header.keyId) ?? header.keyId, wrapScheme: header.wrapScheme, wrappedKey: header.wrappedKey.toString('base64'),
      });
      return this.#dataKey;
    }
    const previous = this.#segments[segment - 1]?.partNumber ?? 0;
    if (previous === 0) throw new CiphertextIntegrityError('trailing-data', 'bytes follow the segment of a single-PUT object', { segment });
    if (header.partNumber <= previous) throw new CiphertextIntegrityError('header', `part ${header.partNumber} follows part ${previous}: part numbers must ascend`, { segment });
    if (header.chunkSize !== first.chunkSize || header.keyId !== first.keyId || !header.wrappedKey.equals(first.wrappedKey)) {
      throw new CiphertextIntegrityError('header', 'this segment does not belong to the same object version as the first (another chunk size or data key)', { segment });
    }
    return this.#dataKey as DataKey;
  }

  /** Decrypts the next chunk of the open segment; false when more bytes are needed first. */
  #nextChunk(open: OpenSegment): boolean {
    const full = open.header.chunkSize + CHUNK_TAG_BYTES;
    const available = this.#queue.length;
    if (!this.#ended && available < full + LOOKAHEAD) return false;
    const segment = this.#segments.length;
    const at = { segment, chunk: open.index };
    if (available === 0) throw new CiphertextIntegrityError('truncated', `the object ends before the final chunk of segment ${segment}`, at);
    const window = this.#queue.peek(Math.min(available, full + LOOKAHEAD));
    if (available > full) {
      const plain = openChunk(open.key, open.index, false, window.subarray(0, full));
      if (plain) {
        this.#emit(open, plain, full);
        return true;
      }
    }
    for (const end of this.#finalChunkEnds(window, available, full)) {
      const plain = openChunk(open.key, open.index, true, window.subarray(0, end));
      if (plain) {
        this.#emit(open, plain, end);
        this.#segments.push({ partNumber: open.header.partNumber, plainSize: open.plainSize, salt: open.header.salt.toString('base64') });
        this.#open = undefined;
        return true;
      }
    }
    if (this.#ended && available <= full && openChunk(open.key, open.index, false, window)) {
      throw new CiphertextIntegrityError('truncated', `the object ends after chunk ${open.index} of segment ${segment}, which is not its final chunk`, at);
    }
    throw new CiphertextIntegrityError('authentication', `chunk ${open.index} of segment ${segment} (part ${open.header.partNumber}) failed authentication`, at);
  }

  /** Where the final chunk could end: at the end of the bytes, or where a segment header starts. */
  *#finalChunkEnds(window: Buffer, available: number, full: number): Generator<number> {
    if (this.#ended && available <= full) yield available;
    const limit = Math.min(full, window.length - LOOKAHEAD);
    for (let end = window.indexOf('SENC', CHUNK_TAG_BYTES, 'latin1'); end !== -1 && end <= limit; end = window.indexOf('SENC', end + 1, 'latin1')) {
      if (startsLikeSegment(window, end)) yield end;
    }
  }

  #emit(open: OpenSegment, plain: Buffer, consumed: number): void {
    this.#queue.skip(consumed);
    open.index += 1;
    open.plainSize += plain.length;
    if (plain.length === 0) return;
    this.#observe?.(this.#segments.length, plain);
    this.push(plain);
  }
}

/** A Transform from a whole stored object (all its segments, from byte 0) to its plaintext; `observe` sees each piece with its segment. */
export function createStoredObjectDecryptStream(keyring: Keyring, observe?: PlaintextObserver): StoredObjectDecryptStream {
  return new StoredObjectDecryptStream(keyring, observe);
}
