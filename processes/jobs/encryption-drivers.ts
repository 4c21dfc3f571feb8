import type pg from 'pg';
import { rotationScopeOf } from '../../domain/encryption/rotation-scope.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { selectedVersions, type EncryptionSelection, type VersionRef } from '../../projections/read/encryption-reads.js';
import type { DataKeyRewrapper } from '../../services/rewrites/data-key-rewrapper.js';
import type { ObjectEncryption } from '../../services/encryption/object-encryption.js';
import type { RewriteOutcome, StoredBytesRewriter } from '../../services/rewrites/stored-bytes-rewriter.js';
import { forEachConcurrently, type JobDriver } from './job-driver.js';
import type { JobStreamWriter } from './job-stream-writer.js';

export interface EncryptionJobSettings {
  batchSize: number;
  concurrency: number;
}

/** Told of each object an encryption job settles (for the metrics). */
export type RewriteObserver = (kind: 'encrypt-existing' | 'decrypt-existing' | 'rotate-encryption-key', outcome: RewriteOutcome) => void;

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
 * encrypt-existing and decrypt-existing as process managers: rewrites a crashed owner left in
 * flight are finished (or their bytes cleaned up) first, then every version still plaintext
 * (encrypt) or encrypted (decrypt) is rewritten once. Running the job again handles only what is
 * left: versions rewritten since no longer match, and those that failed are tried again.
 */
export class StoredBytesRewriteDriver implements JobDriver {
  constructor(
    readonly kind: 'encrypt-existing' | 'decrypt-existing',
    private readonly pool: pg.Pool,
    private readonly encryption: ObjectEncryption | undefined,
    private readonly rewriter: StoredBytesRewriter | undefined,
    private readonly settings: () => EncryptionJobSettings,
    private readonly observe: RewriteObserver,
    private readonly logger: Logger,
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const change = this.kind === 'encrypt-existing' ? 'encrypt' : 'decrypt';
    const rewriter = this.rewriter;
    if (!rewriter || (change === 'encrypt' && !this.encryption?.encryptsWrites)) {
      await job.record({ type: 'Fail', error: change === 'encrypt' ? 'encryption is not enabled any more' : 'no encryption key is configured any more' });
      return;
    }
    const each = async (v: VersionRef, inFlight?: Parameters<StoredBytesRewriter['rewrite']>[4]) => {
      this.observe(this.kind, await rewriter.rewrite(job, change, v, job.cause, inFlight));
    };
    for (const r of job.state.rewritesInFlight.values()) {
      if (signal.aborted) return;
      await each(r, r);
    }
    if (!(await runSelection(this.pool, job, { kind: change === 'encrypt' ? 'plaintext' : 'encrypted' }, this.settings, signal, each))) return;
    await job.record({ type: 'Complete' });
    this.logger.info({ jobId: job.jobId, rewritten: job.state.rewritten, failed: job.state.rewritesFailed.size }, `${this.kind} finished`);
  }
}

/**
 * rotate-encryption-key as a process manager: re-wraps the data keys its start selected (by the
 * alias or key id the operator named, resolved then; see rotation-scope.ts) with the primary
 * key. Metadata only, so nothing is in flight across a crash: a resumed run selects what is left.
 */
export class RewrapDriver implements JobDriver {
  readonly kind = 'rotate-encryption-key' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly encryption: ObjectEncryption | undefined,
    private readonly rewrapper: DataKeyRewrapper | undefined,
    private readonly settings: () => EncryptionJobSettings,
    private readonly observe: RewriteObserver,
    private readonly logger: Logger,
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const { oldKeyId, resolvedKeyId } = job.state.params as { oldKeyId?: unknown; resolvedKeyId?: unknown };
    const rewrapper = this.rewrapper;
    if (typeof oldKeyId !== 'string' || (typeof resolvedKeyId !== 'string' && resolvedKeyId !== null)) {
      await job.record({ type: 'Fail', error: 'the job names no old key id' });
      return;
    }
    if (!rewrapper || !this.encryption) {
      await job.record({ type: 'Fail', error: 'no encryption key is configured any more' });
      return;
    }
    const primaryKeyId = this.encryption.requireKeyring().primaryKeyId;
    const scope = rotationScopeOf(oldKeyId, resolvedKeyId ?? undefined, primaryKeyId);
    const selection: EncryptionSelection = { kind: 'wrapped', primaryKeyId, alias: oldKeyId, keyId: resolvedKeyId };
    const done = await runSelection(this.pool, job, selection, this.settings, signal, async (v) => {
      this.observe(this.kind, await rewrapper.rewrap(job, v, scope.selects, job.cause));
    });
    if (!done) return;
    await job.record({ type: 'Complete' });
    this.logger.info({ jobId: job.jobId, oldKeyId, rewrapped: job.state.rewritten, failed: job.state.rewritesFailed.size }, 'key rotation finished');
  }
}
