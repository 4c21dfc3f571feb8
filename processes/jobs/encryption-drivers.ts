import type pg from 'pg';
import { rotationScopeOf } from '../../domain/encryption/rotation-scope.js';
import type { InFlightRewrite, RewriteJobKind } from '../../domain/jobs/job-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { selectedVersions, type EncryptionSelection, type VersionRef } from '../../projections/read/encryption-reads.js';
import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import type { RewriteOutcome, RewritePlan, StoredBytesRewriter } from '../../services/rewrites/stored-bytes-rewriter.js';
import { JobOwnershipLostError } from '../../services/moves/job-recorder.js';
import { forEachConcurrently, type JobDriver } from './job-driver.js';
import type { JobStreamWriter } from './job-stream-writer.js';

export interface EncryptionJobSettings {
  batchSize: number;
  concurrency: number;
}

/** Told of each object an encryption job settles (for the metrics). */
export type RewriteObserver = (kind: RewriteJobKind, outcome: RewriteOutcome) => void;

/**
 * Pages through the selected versions in key order, handing each to `each`, until a pass from
 * the start finds none left but those that failed in this run (each is tried once per run; a
 * version skipped because it changed is selected again if it still needs the job). Returns
 * whether the job got to the end (not stopped, not ended by someone else).
 */
async function runSelection(
  pool: pg.Pool, job: JobStreamWriter, selection: EncryptionSelection, settings: () => EncryptionJobSettings, signal: AbortSignal,
  each: (v: VersionRef) => Promise<void>,
): Promise<boolean> {
  let after: VersionRef | undefined;
  while (!signal.aborted) {
    const state = await job.catchUp();
    if (state.status !== 'running') return false;
    const { batchSize, concurrency } = settings();
    const batch = await selectedVersions(pool, selection, after, batchSize, [...state.rewritesFailed]);
    if (batch.length === 0) {
      if (after === undefined) return true;
      after = undefined;
      continue;
    }
    await forEachConcurrently(batch, concurrency, async (v) => {
      if (!signal.aborted) await each(v);
    });
    after = batch[batch.length - 1];
  }
  return false;
}

/**
 * encrypt-existing, decrypt-existing and rotate-encryption-key as process managers: rewrites a
 * crashed owner left in flight are finished (or their bytes cleaned up) first, then every version
 * still plaintext (encrypt), encrypted (decrypt) or with its data key wrapped by the old key
 * (rotate: the alias or key id the operator named, resolved when the job started; see
 * rotation-scope.ts) is rewritten once. Running the job again handles only what is left: versions
 * rewritten since no longer match, and those that failed are tried again. A cancel stops it
 * between objects; what was rewritten stays rewritten.
 */
export class EncryptionRewriteDriver implements JobDriver {
  constructor(
    readonly kind: RewriteJobKind,
    private readonly pool: pg.Pool,
    private readonly encryption: ObjectEncryption | undefined,
    private readonly rewriter: StoredBytesRewriter | undefined,
    private readonly settings: () => EncryptionJobSettings,
    private readonly observe: RewriteObserver,
    private readonly logger: Logger,
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const rewriter = this.rewriter;
    const work = this.plan(job);
    if (typeof work === 'string' || !rewriter) {
      await job.record({ type: 'Fail', error: typeof work === 'string' ? work : 'no encryption key is configured any more' });
      return;
    }
    const each = async (v: VersionRef, inFlight?: InFlightRewrite) => {
      this.observe(this.kind, await rewriter.rewrite(job, work.plan, v, job.cause, inFlight));
    };
    try {
      for (const r of job.state.rewritesInFlight.values()) {
        if (signal.aborted) return;
        await each(r, r);
      }
      if (!(await runSelection(this.pool, job, work.selection, this.settings, signal, each))) return;
      await job.record({ type: 'Complete' });
    } catch (err) {
      if (!(err instanceof JobOwnershipLostError) || (await job.catchUp()).status === 'running') throw err;
      this.logger.info({ jobId: job.jobId, rewritten: job.state.rewritten }, `${this.kind} ${job.state.status}; the objects done so far stay done`);
      return;
    }
    this.logger.info({ jobId: job.jobId, ...job.state.params, rewritten: job.state.rewritten, failed: job.state.rewritesFailed.size }, `${this.kind} finished`);
  }

  /** What the job selects and does to each version, or why this configuration cannot run it. */
  private plan(job: JobStreamWriter): { selection: EncryptionSelection; plan: RewritePlan } | string {
    if (this.kind === 'encrypt-existing') {
      return this.encryption?.encryptsWrites ? { selection: { kind: 'plaintext' }, plan: { change: 'encrypt' } } : 'encryption is not enabled any more';
    }
    if (!this.encryption) return 'no encryption key is configured any more';
    if (this.kind === 'decrypt-existing') return { selection: { kind: 'encrypted' }, plan: { change: 'decrypt' } };
    const { oldKeyId, resolvedKeyId } = job.state.params as { oldKeyId?: unknown; resolvedKeyId?: unknown };
    if (typeof oldKeyId !== 'string' || (typeof resolvedKeyId !== 'string' && resolvedKeyId !== null)) return 'the job names no old key id';
    const primaryKeyId = this.encryption.requireKeyring().primaryKeyId;
    const scope = rotationScopeOf(oldKeyId, resolvedKeyId ?? undefined, primaryKeyId);
    return {
      selection: { kind: 'wrapped', primaryKeyId, alias: oldKeyId, keyId: resolvedKeyId },
      plan: { change: 'rewrap', selects: scope.selects },
    };
  }
}
