import { newUlid, sha256 } from '../../infra/ids.js';
import type { StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { InFlightMove } from '../../domain/jobs/job-state.js';
import type { ObjectState } from '../../domain/objects/object-state.js';
import { moveSupersededReason } from '../../domain/objects/object-decider.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { cleanupIds, type ObjectCommands } from '../objects/object-commands.js';
import type { ObjectReader } from '../objects/object-reader.js';
import type { WritePlacement } from '../placement/write-placement.js';
import { moveIdFor } from '../../domain/objects/placement-ids.js';
import { placementStorageKey } from '../../domain/objects/storage-keys.js';
import { copyVersion, type VersionCopier } from '../objects/copy-version.js';
import type { MoveRef } from '../../domain/jobs/job-decider.js';
import { FullTargets } from './full-targets.js';
import type { JobRecorder } from './job-recorder.js';

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

/** A move whose target is reserved (its MoveStarted committed) and whose bytes are still to copy. */
export interface StartedMove {
  kind: 'started';
  copy: CopyToMove;
  ref: MoveRef;
  /** The object as the move read it: the copy's source, and the revision its CopyMoved expects. */
  state: ObjectState;
  target: StoredCopy;
  attempt: number;
  cause: Cause;
}

/** A started move whose bytes are on its target, still to be recorded. */
export type CopiedMove = Omit<StartedMove, 'kind'> & { kind: 'copied' };

export interface MoverSettings {
  /** Copies an object should have: a copy on a draining backend is dropped when the others suffice. */
  replicationFactor: () => number;
  /** How the bytes are copied (verified with integrity.verify_on_replicate); plainly without it. */
  copy?: VersionCopier;
}

const maxCommitAttempts = 10;

const noRoom = 'no eligible backend can take the copy';

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
  private readonly fullTargets: FullTargets;

  constructor(
    private readonly objects: ObjectCommands,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly reader: ObjectReader,
    private readonly placement: WritePlacement,
    private readonly orphans: OrphanRecorder,
    private readonly reclaimer: Reclaimer,
    private readonly settings: MoverSettings,
    private readonly logger: Logger,
  ) {
    this.fullTargets = new FullTargets(logger);
  }

  moveId(jobId: string, c: CopyToMove): string {
    return moveIdFor(sha256, jobId, c.bucket, c.key, c.writeId, c.from);
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

  /** The move gives up its target: the room it reserved there is released with the move's next event. */
  private async abandon(target: StoredCopy | undefined, cause: Cause): Promise<void> {
    if (!target) return;
    this.backends.noteUsage(target.backend, { pending: -target.size });
    await this.orphans.record(target.backend, target.storageKey, 0, 'move_abandoned', cause);
  }

  private canTake(name: string, size: number, holders: ReadonlySet<string>): boolean {
    return this.placement.rank(size, holders).some((b) => b.name === name);
  }

  /**
   * Chooses the move's target and reserves the copy's size there with its MoveStarted (the usage
   * projection counts it as pending bytes, checked against the quota): a drain takes the least
   * utilised eligible backend, a rebalance its planned one. A target that concurrent moves or
   * writes filled meanwhile refuses the reservation; the drain then tries the next one. Undefined
   * when no backend can take the copy.
   */
  private async reserveTarget(job: JobRecorder, c: CopyToMove, ref: MoveRef, holders: ReadonlySet<string>, forced: string | undefined): Promise<StoredCopy | undefined> {
    const refused = new Set(holders);
    for (;;) {
      const choice = forced === undefined
        ? this.placement.rankLeastUtilised(c.size, refused)[0]?.name
        : !refused.has(forced) && this.canTake(forced, c.size, refused) ? forced : undefined;
      if (choice === undefined) return undefined;
      // A fresh key per attempt: a given-up attempt's bytes, which the backend may still store, are
      // deleted after the failed-write grace without touching a retry's.
      const target = { backend: choice, storageKey: placementStorageKey(c.bucket, c.key, c.writeId, newUlid()), size: c.size };
      // Held at once, so the moves this instance starts concurrently see each other's reservations; noted once committed.
      const release = this.backends.hold(choice, { pending: c.size });
      try {
        await job.record({ type: 'StartMove', move: ref, from: c.from, to: target });
        this.backends.noteUsage(choice, { pending: c.size });
        return target;
      } catch (err) {
        if (!(err instanceof InvariantViolationError && err.invariant === 'quota')) throw err;
        this.fullTargets.note(job.jobId, choice);
        refused.add(choice);
      } finally {
        release();
      }
    }
  }

  /**
   * Without `target` (drain) the copy goes to the best eligible backend, or is dropped when
   * enough healthy copies exist elsewhere. With `target` (rebalance) it goes there or nowhere:
   * never dropped, and skipped when that backend holds a copy already or can no longer take it.
   */
  async move(job: JobRecorder, c: CopyToMove, cause: Cause, prior: { inFlight?: InFlightMove; attempt: number; target?: string }): Promise<MoveOutcome> {
    const started = await this.start(job, c, cause, prior);
    return started.kind === 'started' ? this.finish(job, started) : started;
  }

  /**
   * The objects of `copies` as `start` reads them, read now, together: a driver that lists copies
   * page by page reads a page's objects in one statement, and its moves start without a read each.
   * Each promise is observed, so one a failed driver never uses is no unhandled rejection.
   */
  readObjects(copies: readonly CopyToMove[]): Promise<ObjectState>[] {
    return copies.map((c) => {
      const state = this.objects.loadBatched(c.bucket, c.key);
      state.catch(() => undefined);
      return state;
    });
  }

  /**
   * The first half of `move`: reads the object (or takes it as `prior.state` read it, from
   * `readObjects`) and reserves the target (MoveStarted committed), or settles the move at once
   * (dropped, skipped, failed). A driver can start moves ahead of the ones copying, so their
   * reservations commit together while earlier copies run. An object read earlier is as safe as
   * one read now: what the move records is compare-and-swapped on the revision it read.
   */
  async start(
    job: JobRecorder, c: CopyToMove, cause: Cause, prior: { inFlight?: InFlightMove; attempt: number; target?: string; state?: Promise<ObjectState> },
  ): Promise<MoveOutcome | StartedMove> {
    const jobId = job.jobId;
    const moveId = this.moveId(jobId, c);
    const ref = { jobId, moveId, bucket: c.bucket, key: c.key, writeId: c.writeId };
    const forced = prior.target;
    const state = await (prior.state ?? this.objects.loadBatched(c.bucket, c.key));
    if (!this.stillThere(state, c)) return this.skip(job, ref, 'the object changed meanwhile', prior.inFlight, cause);
    if (forced === undefined && this.healthyElsewhere(state, c.from) >= this.settings.replicationFactor()) return this.drop(job, c, ref, state, cause, prior.inFlight);

    const holders = new Set((state.current?.copies ?? []).map((x) => x.backend));
    holders.add(c.from);
    if (forced !== undefined && holders.has(forced)) return this.skip(job, ref, `${forced} already holds a copy`, prior.inFlight, cause);
    // A move resumed after a crash, or taken over from an owner that lost the job, gives up the
    // target it had: that owner may still be writing there. Its new MoveStarted replaces the reservation.
    await this.abandon(prior.inFlight?.to, cause);
    const target = await this.reserveTarget(job, c, ref, holders, forced);
    if (!target && forced !== undefined) return this.skip(job, ref, `${forced} can no longer take the copy`, undefined, cause);
    if (!target) return this.fail(job, c, ref, prior.attempt, noRoom);
    return { kind: 'started', copy: c, ref, state, target, attempt: prior.attempt, cause };
  }

  /**
   * The second half of `move`: copies the bytes outside any transaction, then records CopyMoved
   * and MoveCompleted together (compare-and-swap on the object's revision as `start` read it).
   */
  async finish(job: JobRecorder, started: StartedMove): Promise<MoveOutcome> {
    const copied = await this.copy(job, started);
    return copied.kind === 'copied' ? this.complete(job, copied) : copied;
  }

  /** Copies a started move's bytes to its target, outside any transaction; a failed copy records the move as failed. */
  async copy(job: JobRecorder, started: StartedMove): Promise<MoveOutcome | CopiedMove> {
    const { copy: c, ref, state, target, cause } = started;
    try {
      if (!state.current) throw new Error('object vanished');
      if (this.settings.copy) await this.settings.copy(c.bucket, c.key, state.current, target, cause);
      else await copyVersion(this.backends, this.reader, state.current, target);
    } catch (err) {
      await this.abandon(target, cause);
      return this.fail(job, c, ref, started.attempt, (err as Error).message);
    }
    return { ...started, kind: 'copied' };
  }

  /** Records a copied move: CopyMoved on the object and MoveCompleted on the job together, or why it was skipped or failed. */
  async complete(job: JobRecorder, copied: CopiedMove): Promise<MoveOutcome> {
    const { copy: c, ref, state, target, cause } = copied;
    const jobId = job.jobId;
    const moveId = ref.moveId;
    // CopyMoved on the object (compare-and-swap on its revision) and MoveCompleted on the job in one
    // transaction; a concurrent change makes the object decide again, and a client's overwrite or
    // delete, a repair replacing the source copy, or the target holding a copy meanwhile, decides
    // nothing: the move is skipped, saying which.
    const source = { backend: c.from, storageKey: c.storageKey, size: c.size };
    try {
      const command = { type: 'MoveCopy' as const, writeId: c.writeId, from: source, to: target, jobId, moveId, ids: cleanupIds };
      const handled = await this.objects.change(c.bucket, c.key, command, cause, {
        initial: state,
        via: job.appenderFor({ type: 'CompleteMove', move: ref, from: c.from, to: target, bytes: c.size }),
        maxAttempts: maxCommitAttempts,
      });
      const moved = handled.events[0];
      if (moved?.type !== 'CopyMoved') {
        await this.abandon(target, cause);
        const reason = moveSupersededReason(handled.state, command);
        await job.record({ type: 'SkipMove', move: ref, reason });
        return { kind: 'skipped', reason };
      }
      this.backends.noteUsage(target.backend, { used: target.size, count: 1, pending: -target.size });
      this.backends.noteUsage(c.from, { used: -c.size, orphan: c.size, count: -1 });
      this.reclaimer.reclaimSoon([moved.data.from], cause);
      return { kind: 'moved', to: target };
    } catch (err) {
      await this.abandon(target, cause);
      if (!(err instanceof InvariantViolationError) && !(err instanceof ConcurrencyError)) throw err;
      if (err instanceof InvariantViolationError) this.fullTargets.note(jobId, target.backend);
      const reason = err instanceof InvariantViolationError ? `target ${target.backend} is full` : 'the object kept changing';
      return this.fail(job, c, ref, copied.attempt, reason);
    }
  }

  private async skip(job: JobRecorder, ref: MoveRef, reason: string, inFlight: InFlightMove | undefined, cause: Cause): Promise<MoveOutcome> {
    await this.abandon(inFlight?.to, cause);
    await job.record({ type: 'SkipMove', move: ref, reason });
    return { kind: 'skipped', reason };
  }

  private async drop(job: JobRecorder, c: CopyToMove, ref: MoveRef, state: ObjectState, cause: Cause, inFlight: InFlightMove | undefined): Promise<MoveOutcome> {
    await this.abandon(inFlight?.to, cause);
    const copy = { backend: c.from, storageKey: c.storageKey, size: c.size };
    let dropped;
    try {
      const handled = await this.objects.change(c.bucket, c.key, {
        type: 'DropReplica', writeId: c.writeId, copy, reason: 'drain', reclaim: true, jobId: ref.jobId, ids: cleanupIds,
      }, cause, { initial: state, via: job.appenderFor({ type: 'CompleteMove', move: ref, from: c.from, to: null, bytes: 0 }), maxAttempts: 1 });
      dropped = handled.events[0];
    } catch (err) {
      if (err instanceof ConcurrencyError) return { kind: 'failed', error: 'the object changed; will look again', retryAt: this.events.now().toISOString() };
      throw err;
    }
    if (dropped?.type !== 'ReplicaDropped') return { kind: 'failed', error: 'the object changed; will look again', retryAt: this.events.now().toISOString() };
    this.backends.noteUsage(c.from, { used: -c.size, orphan: c.size, count: -1 });
    this.reclaimer.reclaimSoon([dropped.data.copy], cause);
    return { kind: 'dropped' };
  }

  private async fail(job: JobRecorder, c: CopyToMove, ref: MoveRef, previousAttempts: number, error: string): Promise<MoveOutcome> {
    const attempt = previousAttempts + 1;
    const retryAt = new Date(this.events.now().getTime() + moveRetryDelayMs(attempt)).toISOString();
    // Lack of room is logged once per job (FullTargets), other failures per move.
    if (error === noRoom) this.fullTargets.note(ref.jobId, undefined);
    else if (!error.endsWith(' is full')) this.logger.warn({ bucket: c.bucket, key: c.key, from: c.from, attempt, error }, 'move failed; will retry');
    await job.record({ type: 'FailMove', move: ref, from: c.from, attempt, error, retryAt });
    return { kind: 'failed', error, retryAt };
  }
}
