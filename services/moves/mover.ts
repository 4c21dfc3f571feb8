import { ulid } from 'ulid';
import type { StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { InFlightMove } from '../../domain/jobs/job-state.js';
import { objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import { isMd5Hex } from '../../domain/s3/etag.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { ObjectReader } from '../objects/object-reader.js';
import type { ObjectWriter } from '../objects/object-writer.js';
import { placementStorageKey } from '../objects/storage-keys.js';
import type { JobRecorder } from './job-recorder.js';
import { moveIdFor } from './move-ids.js';

/** One copy of one object version to take off a backend. */
export interface CopyToMove {
  bucket: string;
  key: string;
  writeId: string;
  from: string;
  storageKey: string;
  size: number;
}

export type MoveOutcome =
  | { kind: 'moved'; to: StoredCopy }
  | { kind: 'dropped' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; error: string; retryAt: string };

export interface MoverSettings {
  /** Copies an object should have: a copy on a draining backend is dropped when the others suffice. */
  replicationFactor: () => number;
}

const maxCommitAttempts = 10;

export function moveRetryDelayMs(attempt: number): number {
  return Math.min(10 * 60_000, 5_000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Moves one copy of an object off a backend, the one way every job does it (drain, rebalance):
 * record MoveStarted with the target, copy the bytes outside any transaction, then record
 * CopyMoved on the object (compare-and-swap on its revision) and MoveCompleted on the job in
 * one transaction; the source bytes are deleted afterwards. A client overwrite or delete during
 * the copy wins: the move is skipped and its copied bytes cleaned up, never reverted.
 */
export class Mover {
  constructor(
    private readonly db: Queryable,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly reader: ObjectReader,
    private readonly writer: ObjectWriter,
    private readonly orphans: OrphanRecorder,
    private readonly reclaimer: Reclaimer,
    private readonly settings: MoverSettings,
    private readonly logger: Logger,
  ) {}

  moveId(jobId: string, c: CopyToMove): string {
    return moveIdFor(jobId, c.bucket, c.key, c.writeId, c.from);
  }

  private stillThere(state: ObjectState, c: CopyToMove): boolean {
    return state.current?.writeId === c.writeId && state.current.copies.some((x) => x.backend === c.from && x.storageKey === c.storageKey);
  }

  /** A copy on another usable backend that counts toward the replication factor. */
  private healthyElsewhere(state: ObjectState, from: string): number {
    return (state.current?.copies ?? []).filter((x) => {
      if (x.backend === from) return false;
      const b = this.backends.get(x.backend);
      return b !== undefined && b.breaker.isAvailable() && this.backends.state(x.backend)?.state === 'active';
    }).length;
  }

  private async abandon(target: StoredCopy | undefined, cause: Cause): Promise<void> {
    if (target) await this.orphans.record(target.backend, target.storageKey, 0, 'move_abandoned', cause);
  }

  async move(job: JobRecorder, c: CopyToMove, cause: Cause, prior: { inFlight?: InFlightMove; attempt: number }): Promise<MoveOutcome> {
    const jobId = job.jobId;
    const moveId = this.moveId(jobId, c);
    const ref = { jobId, moveId, bucket: c.bucket, key: c.key, writeId: c.writeId };
    let state = await loadObject(this.db, c.bucket, c.key);
    if (!this.stillThere(state, c)) {
      await this.abandon(prior.inFlight?.to, cause);
      await job.record([this.events.event('MoveSkipped', { ...ref, reason: 'the object changed meanwhile' }, cause)]);
      return { kind: 'skipped', reason: 'the object changed meanwhile' };
    }
    if (this.healthyElsewhere(state, c.from) >= this.settings.replicationFactor()) return this.drop(job, c, ref, state, cause, prior.inFlight);

    const holders = new Set((state.current?.copies ?? []).map((x) => x.backend));
    holders.add(c.from);
    let target: StoredCopy | undefined = prior.inFlight?.to;
    if (!target || holders.has(target.backend) || !this.writer.rankFor(c.size, holders).some((b) => b.name === target?.backend)) {
      await this.abandon(target, cause);
      const choice = this.writer.rankFor(c.size, holders)[0];
      if (!choice) return this.fail(job, c, ref, prior.attempt, 'no eligible backend can take the copy', cause);
      target = { backend: choice.name, storageKey: placementStorageKey(c.bucket, c.key, c.writeId, moveId), size: c.size };
      await job.record([this.events.event('MoveStarted', { ...ref, from: c.from, to: target }, cause)]);
    }

    try {
      await this.copyBytes(state, c, target);
    } catch (err) {
      await this.abandon(target, cause);
      return this.fail(job, c, ref, prior.attempt, (err as Error).message, cause);
    }

    for (let attempt = 1; ; attempt++) {
      const from = { backend: c.from, storageKey: c.storageKey, size: c.size, cleanupId: ulid() };
      try {
        await job.record([this.events.event('MoveCompleted', { ...ref, from: c.from, to: target, bytes: c.size }, cause)], [{
          streamId: objectStreamId(c.bucket, c.key),
          events: [this.events.event('CopyMoved', { bucket: c.bucket, key: c.key, writeId: c.writeId, from, to: target, jobId, moveId }, cause)],
          expected: state.revision,
        }]);
        this.backends.noteUsage(target.backend, { used: target.size, count: 1 });
        this.backends.noteUsage(c.from, { used: -c.size, orphan: c.size, count: -1 });
        this.reclaimer.reclaimSoon([from], cause);
        return { kind: 'moved', to: target };
      } catch (err) {
        if (err instanceof ConcurrencyError && err.streamId === objectStreamId(c.bucket, c.key) && attempt < maxCommitAttempts) {
          state = await loadObject(this.db, c.bucket, c.key);
          if (this.stillThere(state, c) && !state.current?.copies.some((x) => x.backend === target?.backend)) continue;
          await this.abandon(target, cause);
          await job.record([this.events.event('MoveSkipped', { ...ref, reason: 'a client changed the object during the move' }, cause)]);
          return { kind: 'skipped', reason: 'a client changed the object during the move' };
        }
        await this.abandon(target, cause);
        if (!(err instanceof InvariantViolationError) && !(err instanceof ConcurrencyError)) throw err;
        const reason = err instanceof InvariantViolationError ? `target ${target.backend} is full` : 'the object kept changing';
        return this.fail(job, c, ref, prior.attempt, reason, cause);
      }
    }
  }

  private async copyBytes(state: ObjectState, c: CopyToMove, target: StoredCopy): Promise<void> {
    const version = state.current;
    if (!version) throw new Error('object vanished');
    const client = this.backends.require(target.backend).client;
    if (c.size === 0) {
      await client.putObject(target.storageKey, Buffer.alloc(0), { contentLength: 0, contentType: version.contentType });
      return;
    }
    const opened = await this.reader.open(version, undefined);
    const put = await client.putObject(target.storageKey, opened.result.body, { contentLength: c.size, contentType: version.contentType });
    if (isMd5Hex(version.etag) && put.etag.toLowerCase() !== version.etag.toLowerCase()) {
      throw new Error(`copied bytes do not match: ${target.backend} stored ETag ${put.etag}, expected ${version.etag}`);
    }
  }

  private async drop(job: JobRecorder, c: CopyToMove, ref: { jobId: string; moveId: string; bucket: string; key: string; writeId: string }, state: ObjectState, cause: Cause, inFlight: InFlightMove | undefined): Promise<MoveOutcome> {
    await this.abandon(inFlight?.to, cause);
    const copy = { backend: c.from, storageKey: c.storageKey, size: c.size, cleanupId: ulid() };
    try {
      await job.record([this.events.event('MoveCompleted', { ...ref, from: c.from, to: null, bytes: 0 }, cause)], [{
        streamId: objectStreamId(c.bucket, c.key),
        events: [this.events.event('ReplicaDropped', { bucket: c.bucket, key: c.key, writeId: c.writeId, copy, reason: 'drain', reclaim: true, jobId: ref.jobId }, cause)],
        expected: state.revision,
      }]);
    } catch (err) {
      if (err instanceof ConcurrencyError) return { kind: 'failed', error: 'the object changed; will look again', retryAt: this.events.now().toISOString() };
      throw err;
    }
    this.backends.noteUsage(c.from, { used: -c.size, orphan: c.size, count: -1 });
    this.reclaimer.reclaimSoon([copy], cause);
    return { kind: 'dropped' };
  }

  private async fail(job: JobRecorder, c: CopyToMove, ref: { jobId: string; moveId: string; bucket: string; key: string; writeId: string }, previousAttempts: number, error: string, cause: Cause): Promise<MoveOutcome> {
    const attempt = previousAttempts + 1;
    const retryAt = new Date(this.events.now().getTime() + moveRetryDelayMs(attempt)).toISOString();
    this.logger.warn({ bucket: c.bucket, key: c.key, from: c.from, attempt, error }, 'move failed; will retry');
    await job.record([this.events.event('MoveFailed', { ...ref, from: c.from, attempt, error, retryAt }, cause)]);
    return { kind: 'failed', error, retryAt };
  }
}
