/**
 * The envelope facts of an encrypted object version, compact enough to live in its events.
 * Two halves that change differently:
 * - the layout (format, chunk size, header length, one entry per segment) describes the stored
 *   bytes and never changes while they exist — replication and moves copy them as they are;
 * - `key` says how the data key is wrapped; a key rotation replaces it (a re-wrap) without
 *   touching the bytes, so the headers in the stored bytes keep the wrap of the time they were
 *   written, and their length stays `headerLength` whatever the new wrap's length.
 * Nothing here is secret: the data key appears only wrapped, the salts are public inputs.
 */
import { z } from 'zod';
import { FORMAT_VERSION, HEADER_FIXED_BYTES, isFormatChunkSize } from './layout.js';

/** How the data key is wrapped: AES-256 key wrap (RFC 3394) under a local master key, or Vault Transit. */
export const WrapScheme = z.enum(['aes256-kw', 'vault-transit']);
export type WrapScheme = z.infer<typeof WrapScheme>;

/** A master key id: the fingerprint of the key (never its position in a list). */
export const KeyId = z.string().regex(/^[0-9a-f]{16}$/, 'a key id is 16 lowercase hex digits');

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const EncryptionKeyFacts = z.object({
  keyId: KeyId,
  /** The alias the key had when this wrap was made (`config-0`, `file-0`, a Vault key name). */
  keyAlias: z.string().min(1),
  wrapScheme: WrapScheme,
  /** The wrapped data key, base64. */
  wrappedKey: z.string().min(1).regex(base64),
});
export type EncryptionKeyFacts = z.infer<typeof EncryptionKeyFacts>;

/** Bytes of a segment's random salt (the input of its key derivation). */
export const SEGMENT_SALT_BYTES = 16;

export const EncryptedSegment = z.object({
  /** 0 for a single-PUT object, else the S3 part number. */
  partNumber: z.number().int().min(0).max(10_000),
  plainSize: z.number().int().nonnegative(),
  /** The segment's salt, base64 (also in its header). */
  salt: z.string().length(24).regex(base64),
});
export type EncryptedSegment = z.infer<typeof EncryptedSegment>;

/**
 * The facts every segment of one object version shares: format, chunk size, header length and
 * the data key's wrap. A multipart upload records them when it is created (its data key), each
 * part then adds its segment, and Complete joins them into the version's envelope.
 */
export const EncryptionKeyLayout = z.object({
  format: z.literal(FORMAT_VERSION),
  chunkSize: z.number().int().refine(isFormatChunkSize, 'chunkSize must be a power of two from 16 bytes to 1 MiB'),
  headerLength: z.number().int().min(HEADER_FIXED_BYTES + 1).max(0xffff),
  key: EncryptionKeyFacts,
});
export type EncryptionKeyLayout = z.infer<typeof EncryptionKeyLayout>;

/**
 * The envelope's rules as a zod schema: it says what is wrong with an envelope `isWellFormedEnvelope`
 * refuses, and it is the shape tests generate envelopes from (`EncryptionEnvelope` is a transform).
 */
export const EncryptionEnvelopeRules = EncryptionKeyLayout.extend({
  segments: z.array(EncryptedSegment).min(1),
}).superRefine((envelope, ctx) => {
  const parts = envelope.segments.map((s) => s.partNumber);
  if (parts.includes(0) && parts.length > 1) {
    ctx.addIssue({ code: 'custom', path: ['segments'], message: 'part number 0 (a single-PUT object) cannot be one of several segments' });
  }
  for (let i = 1; i < parts.length; i += 1) {
    if ((parts[i] as number) <= (parts[i - 1] as number)) {
      ctx.addIssue({ code: 'custom', path: ['segments', i, 'partNumber'], message: 'part numbers must ascend' });
    }
  }
});
export type EncryptionEnvelope = z.infer<typeof EncryptionEnvelopeRules>;

const keyIdText = /^[0-9a-f]{16}$/;
const wrapSchemes: ReadonlySet<unknown> = new Set(WrapScheme.options);

function isRecord(value: unknown, keys: number): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === keys;
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function isKeyFacts(key: unknown): boolean {
  return isRecord(key, 4)
    && typeof key['keyId'] === 'string' && keyIdText.test(key['keyId'])
    && typeof key['keyAlias'] === 'string' && key['keyAlias'].length > 0
    && wrapSchemes.has(key['wrapScheme'])
    && typeof key['wrappedKey'] === 'string' && key['wrappedKey'].length > 0 && base64.test(key['wrappedKey']);
}

function areSegments(segments: unknown): boolean {
  if (!Array.isArray(segments) || segments.length === 0) return false;
  let previous = -1;
  for (const segment of segments as unknown[]) {
    if (!isRecord(segment, 3)) return false;
    const { partNumber, plainSize, salt } = segment;
    if (!isIntIn(partNumber, 0, 10_000) || !isIntIn(plainSize, 0, Number.MAX_SAFE_INTEGER)) return false;
    if (typeof salt !== 'string' || salt.length !== 24 || !base64.test(salt)) return false;
    // Ascending part numbers; part 0 (a single PUT) only alone.
    if (partNumber <= previous || (partNumber === 0 && segments.length > 1)) return false;
    previous = partNumber;
  }
  return true;
}

/**
 * Whether `value` is an envelope exactly as the schema's output would be (every rule of
 * `EncryptionEnvelopeRules`, and no other fields). Checked by hand: validating the envelope with zod was
 * a visible share of an encrypted 4 KiB PUT's commit, and nearly every envelope validated is one
 * this process just built.
 */
export function isWellFormedEnvelope(value: unknown): value is EncryptionEnvelope {
  return isRecord(value, 5)
    && value['format'] === FORMAT_VERSION
    && Number.isSafeInteger(value['chunkSize']) && isFormatChunkSize(value['chunkSize'] as number)
    && isIntIn(value['headerLength'], HEADER_FIXED_BYTES + 1, 0xffff)
    && isKeyFacts(value['key'])
    && areSegments(value['segments']);
}

/**
 * The envelope facts of a version. A well-formed envelope is taken as it is; anything else goes
 * through the zod schema, which strips unknown fields or reports every problem with its path.
 */
export const EncryptionEnvelope = z.unknown().transform((value, ctx): EncryptionEnvelope => {
  if (isWellFormedEnvelope(value)) return value;
  const checked = EncryptionEnvelopeRules.safeParse(value);
  if (checked.success) return checked.data;
  for (const issue of checked.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});
