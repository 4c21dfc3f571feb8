import { z } from 'zod';

/** A stored copy of one object version on one backend. `size` is the bytes stored there. */
export const StoredCopy = z.object({
  backend: z.string().min(1),
  storageKey: z.string().min(1),
  size: z.number().int().nonnegative(),
});
export type StoredCopy = z.infer<typeof StoredCopy>;

/** A copy that stops being live: its bytes become an orphan owned by cleanup item `cleanupId`. */
export const OrphanedCopy = StoredCopy.extend({ cleanupId: z.string().min(1) });
export type OrphanedCopy = z.infer<typeof OrphanedCopy>;

export const Checksum = z.object({
  algorithm: z.enum(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']),
  value: z.string(),
});
export type Checksum = z.infer<typeof Checksum>;

/** System headers S3 stores with an object and returns on GET/HEAD. */
export const ObjectHeaders = z.object({
  cacheControl: z.string().optional(),
  contentDisposition: z.string().optional(),
  contentEncoding: z.string().optional(),
  contentLanguage: z.string().optional(),
  expires: z.string().optional(),
});
export type ObjectHeaders = z.infer<typeof ObjectHeaders>;

/** Lower-case hex SHA-256 of the client's bytes (of one part, or of a whole single-part object). */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The SHA-256 recorded for a version: the hex digest of its bytes, or for a multipart object the
 * digest of its parts' digests (concatenated, in part order) followed by `-<part count>`, as S3
 * composes multipart checksums (parts arrive separately, so no one hash sees the whole body).
 */
export const ContentSha256 = z.string().regex(/^[0-9a-f]{64}(-[1-9][0-9]{0,4})?$/);

/** One part of a multipart version; `sha256` from ObjectWritten@2 on, when integrity is on. */
export const PartLayout = z.object({ partNumber: z.number().int().positive(), size: z.number().int().nonnegative(), sha256: Sha256Hex.optional() });
export type PartLayout = z.infer<typeof PartLayout>;

export const IsoTime = z.string().min(1);
