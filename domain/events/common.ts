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

export const PartLayout = z.object({ partNumber: z.number().int().positive(), size: z.number().int().nonnegative() });
export type PartLayout = z.infer<typeof PartLayout>;

export const IsoTime = z.string().min(1);
