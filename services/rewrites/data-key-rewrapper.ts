/**
 * Re-wraps the data key of one object version for rotate-encryption-key: the key is unwrapped
 * with the master key that wrapped it and wrapped again by the primary, and the new wrap is
 * committed as DataKeyRewrapped with the job's step (compare-and-swap on the object's revision).
 * No stored byte is read or written: the segment headers in the backend keep the wrap of the
 * time they were written (README, "Rotating encryption keys", says what recovery from backend
 * bytes then needs).
 */
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { RecordedWrap } from '../../domain/encryption/rotation-scope.js';
import type { RewriteRef } from '../../domain/jobs/job-decider.js';
import { rewriteIdFor } from '../../domain/objects/placement-ids.js';
import { sha256 } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { VersionRef } from '../../projections/read/encryption-reads.js';
import type { Cause } from '../event-factory.js';
import type { JobRecorder } from '../moves/job-recorder.js';
import type { ObjectCommands } from '../objects/object-commands.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';
import type { RewriteOutcome } from './stored-bytes-rewriter.js';

const maxCommitAttempts = 10;

export class DataKeyRewrapper {
  constructor(
    private readonly objects: ObjectCommands,
    private readonly encryption: ObjectEncryption,
    private readonly logger: Logger,
  ) {}

  /** Re-wraps `v`'s data key if it is still current and its wrap still `selects`. */
  async rewrap(job: JobRecorder, v: VersionRef, selects: (wrap: RecordedWrap) => boolean, cause: Cause): Promise<RewriteOutcome> {
    const ref: RewriteRef = { jobId: job.jobId, rewriteId: rewriteIdFor(sha256, job.jobId, v.bucket, v.key, v.writeId), bucket: v.bucket, key: v.key, writeId: v.writeId };
    const state = await this.objects.load(v.bucket, v.key);
    const envelope = state.current?.writeId === v.writeId ? state.current.encryption : null;
    if (!envelope || !selects(envelope.key)) {
      await job.record({ type: 'SkipRewrite', rewrite: ref, reason: 'the object changed before its re-wrap' });
      return 'skipped';
    }
    let wrap;
    try {
      wrap = await (await this.encryption.dataKeyFor(envelope)).rewrap(this.encryption.requireKeyring());
    } catch (err) {
      return this.fail(job, ref, `could not re-wrap its data key: ${(err as Error).message}`);
    }
    const stored = (state.current?.copies ?? []).reduce((n, c) => n + c.size, 0);
    try {
      const handled = await this.objects.change(v.bucket, v.key, { type: 'RewrapDataKey', writeId: v.writeId, from: envelope.key, wrap, jobId: job.jobId }, cause, {
        initial: state,
        via: job.appenderFor({ type: 'CompleteRewrite', rewrite: ref, bytesBefore: stored, bytesAfter: stored }),
        maxAttempts: maxCommitAttempts,
      });
      if (handled.events[0]?.type !== 'DataKeyRewrapped') {
        await job.record({ type: 'SkipRewrite', rewrite: ref, reason: 'a client changed the object during its re-wrap' });
        return 'skipped';
      }
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
      return this.fail(job, ref, 'the object kept changing during its re-wrap');
    }
    this.encryption.counted('rewrap');
    return 'rewritten';
  }

  private async fail(job: JobRecorder, ref: RewriteRef, error: string): Promise<RewriteOutcome> {
    this.logger.warn({ jobId: ref.jobId, bucket: ref.bucket, key: ref.key, error }, 'data key not re-wrapped; a later rotate-encryption-key run tries it again');
    await job.record({ type: 'FailRewrite', rewrite: ref, error });
    return 'failed';
  }
}
