import { z } from 'zod';
import { StoredCopy } from './common.js';

export const JobKind = z.enum([
  'drain', 'remove', 'purge', 'rebalance', 'replicate', 'over-replication', 'encrypt-existing', 'decrypt-existing', 'rotate-encryption-key',
]);
export type JobKind = z.infer<typeof JobKind>;

export const JobStarted = z.object({
  jobId: z.string(),
  kind: JobKind,
  backend: z.string().optional(),
  /** What there was to do when the job started (for progress and ETA). */
  objectsTotal: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
  params: z.record(z.string(), z.unknown()),
});

const MoveRef = z.object({
  jobId: z.string(),
  moveId: z.string(),
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
});

/**
 * Recorded before bytes are copied, so a crash leaves a record of where they may have gone.
 * `replaces`: the target of the same move still in flight (resumed after a crash, or taken over),
 * given up for `to`; absent on older events and on a move's first start.
 */
export const MoveStarted = MoveRef.extend({ from: z.string(), to: StoredCopy, replaces: StoredCopy.optional() });
/** The copy is now on `to` (or was dropped because enough copies exist elsewhere). */
export const MoveCompleted = MoveRef.extend({ from: z.string(), to: StoredCopy.nullable(), bytes: z.number().int().nonnegative() });
/** Nothing to do any more: the object changed or vanished meanwhile (a client write wins). */
export const MoveSkipped = MoveRef.extend({ reason: z.string() });
export const MoveFailed = MoveRef.extend({ from: z.string(), attempt: z.number().int().positive(), error: z.string(), retryAt: z.string() });

const RewriteRef = z.object({
  jobId: z.string(),
  rewriteId: z.string(),
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
});

/**
 * An encryption job is about to write new bytes for an object version: `targets` are where they
 * go (one per copy), recorded first so a crash leaves a record of bytes to clean up. `replaces`:
 * the targets of the same rewrite still in flight (resumed or taken over), given up for these.
 */
export const RewriteStarted = RewriteRef.extend({ targets: z.array(StoredCopy).min(1), replaces: z.array(StoredCopy).min(1).optional() });
/** The version's stored bytes (or its data key's wrap) were rewritten: bytes stored before and after, over all copies. */
export const RewriteCompleted = RewriteRef.extend({ bytesBefore: z.number().int().nonnegative(), bytesAfter: z.number().int().nonnegative() });
/** Nothing to do any more: the object changed meanwhile (a client write wins) or needs no rewrite. */
export const RewriteSkipped = RewriteRef.extend({ reason: z.string() });
/** This object could not be rewritten in this run (a later run tries it again). */
export const RewriteFailed = RewriteRef.extend({ error: z.string() });

/**
 * A snapshot of the job's state, appended by its owner every so many events, so resuming a job
 * reads its stream back to the last checkpoint instead of from the start. It changes nothing: the
 * state folded up to it is the state it holds.
 */
export const JobCheckpointed = z.object({
  jobId: z.string(),
  kind: JobKind,
  backend: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  moved: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  movedBytes: z.number().int().nonnegative(),
  inFlight: z.array(MoveStarted.omit({ jobId: true })),
  failures: z.array(z.object({ copy: z.string(), attempts: z.number().int().positive(), retryAt: z.string() })),
  /** Moves of a planned job (rebalance) already settled; empty for other kinds. */
  settled: z.array(z.string()),
  /**
   * Encryption jobs only (absent for other kinds, and in checkpoints written before them): objects
   * rewritten so far, rewrites started but not settled, and those that failed.
   */
  rewritten: z.number().int().nonnegative().optional(),
  rewritesInFlight: z.array(RewriteStarted.omit({ jobId: true })).optional(),
  /** Object versions whose rewrite failed in this run (`<bucket>/<key>~<writeId>`). */
  rewritesFailed: z.array(z.string()).optional(),
});

export const JobCompleted = z.object({ jobId: z.string() });
export const JobCancelled = z.object({ jobId: z.string() });
export const JobFailed = z.object({ jobId: z.string(), error: z.string() });

export const jobEvents = {
  JobStarted: { version: 1, schema: JobStarted },
  MoveStarted: { version: 1, schema: MoveStarted },
  MoveCompleted: { version: 1, schema: MoveCompleted },
  MoveSkipped: { version: 1, schema: MoveSkipped },
  MoveFailed: { version: 1, schema: MoveFailed },
  RewriteStarted: { version: 1, schema: RewriteStarted },
  RewriteCompleted: { version: 1, schema: RewriteCompleted },
  RewriteSkipped: { version: 1, schema: RewriteSkipped },
  RewriteFailed: { version: 1, schema: RewriteFailed },
  JobCheckpointed: { version: 1, schema: JobCheckpointed },
  JobCompleted: { version: 1, schema: JobCompleted },
  JobCancelled: { version: 1, schema: JobCancelled },
  JobFailed: { version: 1, schema: JobFailed },
} as const;
