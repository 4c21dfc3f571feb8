import type { BackfillReport } from '../../processes/integrity/checksum-backfill.js';
import type { ScrubReport, Skipped } from '../../processes/integrity/integrity-worker.js';
import type { IntegrityStats } from '../../projections/read/integrity-reads.js';
import type { RebalanceReport } from '../../processes/rebalance/rebalance-worker.js';
import type { OverReplicationReport, ReplicationReport } from '../../processes/replication/replication-worker.js';
import type { EncryptionJobStart } from '../../processes/jobs/encryption-job-starter.js';
import type { ScanReport } from '../../processes/reconcile/untracked-importer.js';
import type { RewriteJobKind } from '../../domain/jobs/job-state.js';
import type { Cause } from '../../services/event-factory.js';
import type { UsageCounts } from '../../services/usage/usage-meter.js';

/** Monthly backend usage as this instance sees it, and a flush on demand (admin usage-flush). */
export interface UsageControl {
  /** `YYYY-MM`: the period monthly limits apply to now. */
  period(): string;
  /** Flushed totals of the period plus this instance's unflushed counts. */
  effective(backend: string): UsageCounts;
  /** Appends this instance's unflushed counts now; returns how many backends had any. Throws when the append fails. */
  flush(): Promise<number>;
}

/** Replication, over-replication and rebalancing on demand (admin API). */
export interface ReplicationControl {
  /** A replication pass now (waits for one already running here). */
  replicate(): Promise<ReplicationReport>;
  /** Objects short of copies (`under`) and with too many (`over`). */
  backlog(): Promise<{ factor: number; under: number; over: number }>;
  /** An over-replication pass now. */
  removeExcess(): Promise<OverReplicationReport>;
  /** Plans a rebalance run now and starts it as a job. */
  rebalance(cause: Cause): Promise<RebalanceReport>;
}

/** Scrubbing, checksum backfill and the integrity figures on demand (admin API). */
export interface IntegrityControl {
  /** A scrub pass now (`batchSize` copies; integrity.scrubber_batch_size when undefined). */
  scrub(batchSize: number | undefined, cause: Cause): Promise<ScrubReport>;
  /** Records the SHA-256 of every version written before integrity was on. */
  backfill(batchSize: number | undefined, cause: Cause): Promise<BackfillReport | Skipped>;
  stats(): Promise<IntegrityStats>;
}

/** encrypt-existing, decrypt-existing and rotate-encryption-key on demand (admin API). */
export interface EncryptionJobControl {
  /** Starts the job, or joins the one of that kind running; refused when the configuration cannot run it. */
  start(kind: RewriteJobKind, options: { oldKeyId?: string }, cause: Cause): Promise<EncryptionJobStart>;
  /** Cancels the running job `jobId` (one of these kinds): it stops between objects. */
  cancel(jobId: string, cause: Cause): Promise<RewriteJobKind>;
}

/** `sync` on demand (the dashboard): what `s3o sync` does, run by this instance under the reconcile lease. */
export interface SyncControl {
  /** Imports the objects of `backend` the log does not know into `bucket`; refused (Conflict) while a reconcile or sync runs. */
  run(request: { backend: string; bucket: string; prefix: string }, cause: Cause): Promise<ScanReport>;
}
