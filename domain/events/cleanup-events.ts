import { z } from 'zod';
import { IsoTime } from './common.js';

/** Bytes on a backend that no live record points to, recorded outside an object event. */
export const OrphanRecorded = z.object({
  backend: z.string(),
  storageKey: z.string(),
  size: z.number().int().nonnegative(),
  reason: z.string(),
  /** `object`: delete the storage key; `multipart`: abort the backend upload `storageKey`/`backendUploadId`. */
  kind: z.enum(['object', 'multipart']),
  backendUploadId: z.string().optional(),
});
export const CleanupFailed = z.object({ attempt: z.number().int().positive(), nextRetryAt: IsoTime, error: z.string() });
/** Success and dismissal carry the item's backend and size so usage can release the orphan bytes. */
export const CleanupSucceeded = z.object({ attempt: z.number().int().positive(), backend: z.string(), size: z.number().int().nonnegative() });
export const CleanupExhausted = z.object({ attempt: z.number().int().positive(), error: z.string() });
export const CleanupRetried = z.object({ nextRetryAt: IsoTime });
export const CleanupDismissed = z.object({ reason: z.string(), backend: z.string(), size: z.number().int().nonnegative() });

export const cleanupEvents = {
  OrphanRecorded: { version: 1, schema: OrphanRecorded },
  CleanupFailed: { version: 1, schema: CleanupFailed },
  CleanupSucceeded: { version: 1, schema: CleanupSucceeded },
  CleanupExhausted: { version: 1, schema: CleanupExhausted },
  CleanupRetried: { version: 1, schema: CleanupRetried },
  CleanupDismissed: { version: 1, schema: CleanupDismissed },
} as const;
