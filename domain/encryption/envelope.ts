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

export const EncryptionEnvelope = EncryptionKeyLayout.extend({
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
export type EncryptionEnvelope = z.infer<typeof EncryptionEnvelope>;
