/**
 * The header that starts every encrypted segment (format v2), so the stored bytes describe
 * themselves: with them and the master key an operator can decrypt an object without the log.
 *
 *   offset size  field
 *        0    4  magic "SENC"
 *        4    1  format version (2)
 *        5    1  wrap scheme (1 = AES-256 key wrap, 2 = Vault Transit)
 *        6    2  header length H, big-endian
 *        8    4  chunk size, big-endian
 *       12    4  part number (0 = single PUT), big-endian
 *       16   16  salt
 *       32    8  master key fingerprint
 *       40    2  wrapped key length L, big-endian
 *       42    L  wrapped data key            (H = 42 + L)
 *
 * The version, chunk size, part number and salt feed the segment's key derivation, so changing
 * any of them makes every chunk fail authentication. The key fields are checked by the unwrap
 * and are deliberately not bound to the chunks: a re-wrap may describe the key differently
 * without invalidating the data.
 */
import { FORMAT_VERSION, HEADER_FIXED_BYTES, headerLengthFor, isFormatChunkSize } from '../../domain/encryption/layout.js';
import { SEGMENT_SALT_BYTES, type WrapScheme } from '../../domain/encryption/envelope.js';
import { CiphertextIntegrityError, NotEncryptedError } from './errors.js';

const MAGIC = Buffer.from('SENC', 'latin1');
/**
 * The magic as one big-endian word, and salts compared byte by byte: Buffer#compare with offsets
 * is a call into C++ that cost more than the comparison (two per encrypted GET showed in its profile).
 */
const MAGIC_WORD = MAGIC.readUInt32BE(0);
const FINGERPRINT_BYTES = 8;
/** Bytes needed to learn a header's length. */
export const HEADER_PREFIX_BYTES = 8;

const schemeCodes: Readonly<Record<WrapScheme, number>> = { 'aes256-kw': 1, 'vault-transit': 2 };
const schemesByCode = new Map(Object.entries(schemeCodes).map(([scheme, code]) => [code, scheme as WrapScheme]));

export interface SegmentHeader {
  readonly wrapScheme: WrapScheme;
  readonly headerLength: number;
  readonly chunkSize: number;
  readonly partNumber: number;
  readonly salt: Buffer;
  /** Hex fingerprint of the master key that wrapped the data key. */
  readonly keyId: string;
  readonly wrappedKey: Buffer;
}

/** The length of the header these fields make; throws when they cannot make one. */
export function encodedHeaderLength(header: Omit<SegmentHeader, 'headerLength'>): number {
  if (header.salt.length !== SEGMENT_SALT_BYTES) throw new RangeError('a segment salt is 16 bytes');
  const length = headerLengthFor(header.wrappedKey.length);
  if (length > 0xffff) throw new RangeError('the wrapped data key is too long for a segment header');
  return length;
}

export function encodeSegmentHeader(header: Omit<SegmentHeader, 'headerLength'>): Buffer {
  const out = Buffer.alloc(encodedHeaderLength(header));
  encodeSegmentHeaderInto(header, out, 0);
  return out;
}

/**
 * Writes the header into `out` at `at` (room for its `headerLengthFor` bytes); returns where it
 * ends. A buffered PUT's stored bytes start with it: written in place, not made and copied.
 */
export function encodeSegmentHeaderInto(header: Omit<SegmentHeader, 'headerLength'>, out: Buffer, at: number): number {
  const length = encodedHeaderLength(header);
  if (at !== 0) out = out.subarray(at, at + length);
  MAGIC.copy(out, 0);
  out[4] = FORMAT_VERSION;
  out[5] = schemeCodes[header.wrapScheme];
  out.writeUInt16BE(length, 6);
  out.writeUInt32BE(header.chunkSize, 8);
  out.writeUInt32BE(header.partNumber, 12);
  header.salt.copy(out, 16);
  // Zeroed first: `out` may be unfilled memory, and a hex write stops at a character it cannot take.
  out.fill(0, 32, 32 + FINGERPRINT_BYTES);
  out.write(header.keyId, 32, FINGERPRINT_BYTES, 'hex');
  out.writeUInt16BE(header.wrappedKey.length, 40);
  header.wrappedKey.copy(out, HEADER_FIXED_BYTES);
  return at + length;
}

/** Whether bytes begin like a v2 segment (needs the first 5 bytes). */
export function startsLikeSegment(bytes: Buffer, at = 0): boolean {
  return bytes.length - at >= 5 && bytes.compare(MAGIC, 0, 4, at, at + 4) === 0 && bytes[at + 4] === FORMAT_VERSION;
}

/** The total header length announced by the first HEADER_PREFIX_BYTES bytes of a segment. */
export function headerLengthOf(prefix: Buffer): number {
  if (prefix.length < HEADER_PREFIX_BYTES || prefix.readUInt32BE(0) !== MAGIC_WORD) {
    throw new NotEncryptedError('the object does not start with an encrypted segment header (it is not encrypted, or not by this program)');
  }
  const version = prefix[4];
  if (version === 1) {
    throw new NotEncryptedError('the object is in format v1 (written by the Go s3-orchestrator), whose data keys are kept only in that program\'s database; decrypt it there (decrypt-existing) before moving it here');
  }
  if (version !== FORMAT_VERSION) throw new NotEncryptedError(`unsupported encryption format version ${String(version)}`);
  const length = prefix.readUInt16BE(6);
  if (length <= HEADER_FIXED_BYTES) throw new CiphertextIntegrityError('header', `segment header length ${length} is too short`);
  return length;
}

/**
 * Checks a whole header's structure (exactly its `headerLengthOf` bytes, or more) without copying
 * anything out of it; `available`: how many of the bytes are the header's to take (all of them unless told).
 */
function checkStructure(bytes: Buffer, available = bytes.length): { wrapScheme: WrapScheme; headerLength: number; chunkSize: number } {
  const headerLength = headerLengthOf(bytes);
  if (available < headerLength) throw new CiphertextIntegrityError('truncated', 'the object ends inside a segment header');
  const wrapScheme = schemesByCode.get(bytes[5] as number);
  if (!wrapScheme) throw new CiphertextIntegrityError('header', `unknown key wrap scheme ${String(bytes[5])}`);
  const chunkSize = bytes.readUInt32BE(8);
  if (!isFormatChunkSize(chunkSize)) throw new CiphertextIntegrityError('header', `invalid chunk size ${chunkSize}`);
  const wrappedLength = bytes.readUInt16BE(40);
  if (headerLengthFor(wrappedLength) !== headerLength) {
    throw new CiphertextIntegrityError('header', 'the segment header length disagrees with its wrapped key length');
  }
  return { wrapScheme, headerLength, chunkSize };
}

/** Parses a whole header (exactly its `headerLengthOf` bytes, or more). */
export function parseSegmentHeader(bytes: Buffer): SegmentHeader {
  const { wrapScheme, headerLength, chunkSize } = checkStructure(bytes);
  return {
    wrapScheme,
    headerLength,
    chunkSize,
    partNumber: bytes.readUInt32BE(12),
    salt: Buffer.from(bytes.subarray(16, 16 + SEGMENT_SALT_BYTES)),
    keyId: bytes.toString('hex', 32, 32 + FINGERPRINT_BYTES),
    wrappedKey: Buffer.from(bytes.subarray(HEADER_FIXED_BYTES, headerLength)),
  };
}

/** A recorded salt (base64) as bytes, when it is the canonical base64 of a salt: then the header's salt is compared as bytes. */
export function saltBytesOf(salt: string): Buffer | undefined {
  const bytes = Buffer.from(salt, 'base64');
  return bytes.length === SEGMENT_SALT_BYTES && bytes.toString('base64') === salt ? bytes : undefined;
}

/**
 * Whether a whole, well-formed header (else it throws as `parseSegmentHeader`) has these layout
 * fields — the salt as base64, as an envelope records it, or as its bytes (`saltBytesOf`) when the
 * caller has them, which spares encoding the header's salt on every read. The key fields are not compared.
 * `available`: the header is the first `available` bytes (a header followed by chunks, checked without a view of it).
 */
export function headerHasLayout(
  bytes: Buffer,
  layout: { readonly headerLength: number; readonly chunkSize: number; readonly partNumber: number; readonly salt: string; readonly saltBytes?: Buffer },
  available = bytes.length,
): boolean {
  const { headerLength, chunkSize } = checkStructure(bytes, available);
  if (headerLength !== layout.headerLength || chunkSize !== layout.chunkSize || bytes.readUInt32BE(12) !== layout.partNumber) return false;
  return layout.saltBytes
    ? saltAt(bytes, 16, layout.saltBytes)
    : bytes.toString('base64', 16, 16 + SEGMENT_SALT_BYTES) === layout.salt;
}

/** Whether `bytes` hold `salt` at `at` (both have the salt's length there: a checked header and a decoded salt). */
function saltAt(bytes: Buffer, at: number, salt: Buffer): boolean {
  for (let i = 0; i < SEGMENT_SALT_BYTES; i += 1) {
    if (bytes[at + i] !== salt[i]) return false;
  }
  return true;
}
