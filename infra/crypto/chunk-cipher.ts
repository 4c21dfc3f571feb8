/**
 * Chunk sealing: AES-256-GCM under a per-segment key.
 *
 * The segment key is HKDF-SHA256(data key, salt = the segment's random salt, info = label ‖
 * format version ‖ chunk size ‖ part number). All parts of a multipart upload share one data key
 * and a part may be uploaded again under the same number, so the data key itself must never be
 * a GCM key: with a fresh 128-bit salt per segment every segment has its own key, and nonces only
 * have to be unique within a segment (the construction of Tink's AES-GCM-HKDF streaming AEAD).
 *
 * Chunk i's nonce and additional data are (i as 64-bit big-endian ‖ 1 if it is the segment's
 * final chunk else 0): a chunk moved to another index, duplicated, or presented as final when it
 * was not (truncation at a chunk boundary) fails authentication.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { CHUNK_TAG_BYTES, FORMAT_VERSION } from '../../domain/encryption/layout.js';

const KEY_LABEL = Buffer.from('s3o/segment-key/v2', 'latin1');
const NONCE_BYTES = 12;
const EXPAND_COUNTER = Buffer.from([1]);

/**
 * A derived segment key: 32 bytes handed straight to the cipher. A KeyObject per segment cost
 * more than the derivation itself on a 4 KiB PUT, and these keys never leave the process.
 */
export type SegmentKey = Buffer;

export function deriveSegmentKey(dataKey: Buffer, chunkSize: number, partNumber: number, salt: Buffer): SegmentKey {
  const info = Buffer.alloc(KEY_LABEL.length + 9);
  KEY_LABEL.copy(info, 0);
  info[KEY_LABEL.length] = FORMAT_VERSION;
  info.writeUInt32BE(chunkSize, KEY_LABEL.length + 1);
  info.writeUInt32BE(partNumber, KEY_LABEL.length + 5);
  // HKDF-SHA256 (RFC 5869) for one 32-byte block, as two HMACs: the same bytes as hkdfSync, at
  // about half its cost (hkdfSync makes KeyObjects of its inputs on every call).
  const prk = createHmac('sha256', salt).update(dataKey).digest();
  return createHmac('sha256', prk).update(info).update(EXPAND_COUNTER).digest();
}

/**
 * One nonce buffer for every chunk: the cipher copies the nonce when it is made and setAAD takes
 * the additional data in the call, and every seal and open is synchronous, so nothing reads it
 * later. A fresh buffer per chunk was an allocation on every small GET and PUT.
 */
const scratchNonce = Buffer.alloc(NONCE_BYTES);
/** The nonce's last 9 bytes, which are also the additional data. */
const scratchAad = scratchNonce.subarray(3);

/** 3 zero bytes ‖ index (u64 BE) ‖ final flag, in the scratch nonce (valid until the next call). */
function nonceFor(index: number, final: boolean): Buffer {
  scratchNonce.writeUInt32BE(Math.floor(index / 2 ** 32), 3);
  scratchNonce.writeUInt32BE(index >>> 0, 7);
  scratchNonce[11] = final ? 1 : 0;
  return scratchNonce;
}

/**
 * Ciphertext ‖ tag of one chunk whose plaintext is `pieces` back to back, as the buffers the
 * cipher gives: each piece's ciphertext, then the tag. Not joined: a join allocates and copies
 * another chunk-sized buffer per chunk, and on a 64 MiB PUT those buffers made V8 collect
 * garbage 6 times instead of the plaintext's 2 (4 without the join).
 */
export function sealChunkPieces(key: SegmentKey, index: number, final: boolean, pieces: readonly Buffer[]): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, nonceFor(index, final));
  cipher.setAAD(scratchAad);
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(cipher.update(piece));
  cipher.final();
  out.push(cipher.getAuthTag());
  return out;
}

/** Writes ciphertext ‖ tag of one chunk into `out` at `at`; returns where it ends. */
export function sealChunkInto(key: SegmentKey, index: number, final: boolean, plain: Buffer, out: Buffer, at: number): number {
  const cipher = createCipheriv('aes-256-gcm', key, nonceFor(index, final));
  cipher.setAAD(scratchAad);
  const body = cipher.update(plain);
  cipher.final();
  body.copy(out, at);
  cipher.getAuthTag().copy(out, at + body.length);
  return at + body.length + CHUNK_TAG_BYTES;
}

/**
 * The plaintext of a sealed chunk (`bytes` from `from` on, so a caller holding it after a header
 * needs no view of it), or undefined when it does not authenticate as chunk `index` (final or not).
 */
export function openChunk(key: SegmentKey, index: number, final: boolean, bytes: Buffer, from = 0): Buffer | undefined {
  const tagAt = bytes.length - CHUNK_TAG_BYTES;
  if (tagAt < from) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(index, final));
  decipher.setAAD(scratchAad);
  decipher.setAuthTag(bytes.subarray(tagAt));
  const plain = decipher.update(bytes.subarray(from, tagAt));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plain;
}

/**
 * The plaintext of a sealed chunk held in pieces (`sealed`: the ciphertext pieces, then the tag,
 * at least CHUNK_TAG_BYTES long, ending the last piece), one plaintext piece per ciphertext
 * piece; undefined when it does not authenticate. A chunk that arrived across two network reads
 * is opened where it lies instead of being joined into one buffer first (a copy of every chunk).
 */
export function openChunkPieces(key: SegmentKey, index: number, final: boolean, sealed: readonly Buffer[]): Buffer[] | undefined {
  const last = sealed[sealed.length - 1];
  if (last === undefined || last.length < CHUNK_TAG_BYTES) return undefined;
  const tagAt = last.length - CHUNK_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(index, final));
  decipher.setAAD(scratchAad);
  decipher.setAuthTag(last.subarray(tagAt));
  const plain: Buffer[] = [];
  for (let i = 0; i < sealed.length - 1; i += 1) plain.push(decipher.update(sealed[i] as Buffer));
  if (tagAt > 0) plain.push(decipher.update(last.subarray(0, tagAt)));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plain;
}
