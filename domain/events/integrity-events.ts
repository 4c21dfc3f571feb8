import { z } from 'zod';
import { ContentSha256, OrphanedCopy, Sha256Hex, StoredCopy } from './common.js';

/**
 * What verified (or found corrupt) a copy: the scrubber, a client's full read (verify_on_read),
 * a replica or move copying it, or the checksum backfill.
 */
export const IntegrityComponent = z.enum(['scrub', 'read', 'replicate', 'backfill']);
export type IntegrityComponent = z.infer<typeof IntegrityComponent>;

const CopyRef = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  backend: z.string(),
  storageKey: z.string(),
});

/** A copy's bytes were read in full and hash to the version's recorded SHA-256. */
export const CopyVerified = CopyRef.extend({ component: IntegrityComponent });

/**
 * Why a copy is bad: its bytes hash to something else than the recorded SHA-256, the backend no
 * longer has them, or (encrypted) its ciphertext fails authentication — damage the chunk tags
 * catch, with or without a recorded hash.
 */
export const CorruptionReason = z.enum(['checksum-mismatch', 'missing', 'ciphertext-authentication']);
export type CorruptionReason = z.infer<typeof CorruptionReason>;

/**
 * A copy's bytes are bad (`reason`). The copy stays recorded, is read last, and is replaced from
 * a healthy copy by a repair.
 */
export const CopyCorrupted = CopyRef.extend({
  component: IntegrityComponent,
  /** New in version 2. */
  reason: CorruptionReason,
  /**
   * The recorded hash (a multipart object's: of the first part that differs, see `partNumber`);
   * null when none was recorded (an encrypted copy failing authentication needs none). Nullable
   * since version 2.
   */
  expectedSha256: Sha256Hex.nullable(),
  /** What the bytes hash to; null when they could not be read (missing on the backend). */
  actualSha256: Sha256Hex.nullable(),
  partNumber: z.number().int().positive().optional(),
});

/**
 * A corrupt copy replaced by a verified copy of a healthy one (`source`): `to` holds the
 * healthy bytes, `from` (the corrupt bytes) is an orphan for cleanup.
 */
export const CopyRepaired = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  from: OrphanedCopy,
  to: StoredCopy,
  source: z.string(),
});

/**
 * The SHA-256 of a version written before integrity was on, computed from its copies (all
 * readable copies agreed). `parts` for a multipart object: each part's hash, in part order.
 */
export const ChecksumBackfilled = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  contentSha256: ContentSha256,
  parts: z.array(z.object({ partNumber: z.number().int().positive(), sha256: Sha256Hex })).nullable(),
});

/** One scrub pass, on its own stream `scrub-<passId>`: what it checked and found. */
export const ScrubPassCompleted = z.object({
  passId: z.string(),
  trigger: z.enum(['schedule', 'admin']),
  startedAt: z.string(),
  checked: z.number().int().nonnegative(),
  corrupt: z.number().int().nonnegative(),
  repaired: z.number().int().nonnegative(),
  /** Copies of objects with no healthy copy left: reported, never deleted. */
  unrepairable: z.number().int().nonnegative(),
  /** Copies that could not be checked now (backend unreachable, object changed meanwhile). */
  skipped: z.number().int().nonnegative(),
});

export const integrityEvents = {
  CopyVerified: { version: 1, schema: CopyVerified },
  CopyCorrupted: { version: 2, schema: CopyCorrupted },
  CopyRepaired: { version: 1, schema: CopyRepaired },
  ChecksumBackfilled: { version: 1, schema: ChecksumBackfilled },
  ScrubPassCompleted: { version: 1, schema: ScrubPassCompleted },
} as const;
