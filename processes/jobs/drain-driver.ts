import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { decideBackend } from '../../domain/backends/backend-decider.js';
import { backendStreamId } from '../../domain/backends/backend-state.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { copyKey, versionOfCopyKey } from '../../domain/jobs/job-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { backendHoldings, copiesOnBackend } from '../../projections/read/job-reads.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { uploadsOnBackend } from '../../projections/read/upload-reads.js';
import { loadBackend } from '../../services/backends/backend-lifecycle.js';
import { handleCommand } from '../../services/commands/handle-command.js';
import type { EventFactory } from '../../services/event-factory.js';
import type { Reclaimer } from '../../services/cleanup/reclaimer.js';
import type { MultipartService } from '../../services/multipart/multipart-service.js';
import type { CopyToMove, Mover } from '../../services/moves/mover.js';
import { jobBackend, pipelineConcurrently, type JobDriver } from './job-driver.js';
import type { JobStreamWriter } from './job-stream-writer.js';

export interface DrainSettings {
  batchSize: number;
  concurrency: number;
}

/**
 * Moves starting, and moves committing, per copy slot: their waits are commits, which go
 * together the more steps wait, so deeper stages give the group commit larger, fewer appends.
 */
const stageDepth = 2;

export interface DrainObserver {
  /** After each batch of copies the drain worked on. */
  batchDone?(batch: { jobId: string; copies: number }): void;
}

/**
 * The drain process manager. It resumes from the job's state (its last checkpoint and the
 * events after it): moves in flight when the previous owner died are finished or cleaned up
 * first, then copies leave the backend in bounded batches (smallest first) until none, no
 * pending cleanup and no multipart upload remain; then the backend is recorded as drained.
 * Between batches it reads only what others appended to the job (a cancel stops it at once;
 * moved copies stay moved), so a batch costs the same however long the drain has run.
 */
export class DrainDriver implements JobDriver {
  readonly kind = 'drain' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly mover: Mover,
    private readonly multipart: MultipartService,
    private readonly settings: () => DrainSettings,
    private readonly kickCleanup: () => void,
    /** This process's deletes of the moved copies' sources, awaited instead of polled at the end. */
    private readonly reclaims: Pick<Reclaimer, 'busy' | 'drain'>,
    private readonly logger: Logger,
    private readonly observer: DrainObserver = {},
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const backend = jobBackend(job);
    await this.resumeInFlight(job);
    while (!signal.aborted) {
      const state = await job.catchUp();
      if (state.status !== 'running') return;
      for (const upload of await uploadsOnBackend(this.pool, backend)) await this.multipart.abort(upload, 'drain', job.cause);

      const now = this.events.now().getTime();
      const waiting = [...state.failures].filter(([, f]) => Date.parse(f.retryAt) > now).map(([k]) => versionOfCopyKey(k));
      const { batchSize, concurrency } = this.settings();
      const batch = await copiesOnBackend(this.pool, backend, batchSize, waiting);
      if (batch.length === 0) {
        const held = await backendHoldings(this.pool, backend);
        if (held.objects === 0 && held.pendingCleanup === 0 && held.exhaustedCleanup === 0 && held.uploads === 0) {
          await this.complete(job, backend);
          return;
        }
        if (held.pendingCleanup > 0 && this.reclaims.busy) {
          await this.reclaims.drain();
          continue;
        }
        if (held.pendingCleanup > 0) this.kickCleanup();
        await sleep(1000, undefined, { signal }).catch(() => undefined);
        continue;
      }
      await this.moveBatch(job, batch.map((c) => ({ ...c, from: backend })), concurrency, signal);
      this.observer.batchDone?.({ jobId: job.jobId, copies: batch.length });
    }
  }

  /**
   * Moves are started (object read, target reserved) by up to `stageDepth` x `concurrency` at
   * once ahead of the ones copying, and a copied move's commit goes on while the next copy runs
   * (at most `stageDepth` x `concurrency` commits waiting): the job's steps commit together in fewer, larger appends, and neither a
   * copy nor the next one waits for a commit of its own. `concurrency` copies run at once. Every
   * commit has settled when this returns, so the next batch never reads a copy still moving.
   */
  private async moveBatch(job: JobStreamWriter, batch: readonly CopyToMove[], concurrency: number, signal: AbortSignal): Promise<void> {
    const committing = new Set<Promise<void>>();
    const failures: unknown[] = [];
    try {
      await pipelineConcurrently(batch, stageDepth * concurrency, concurrency, async (c) => {
        if (signal.aborted || failures.length > 0) return undefined;
        const failure = job.state.failures.get(copyKey(c.bucket, c.key, c.writeId, c.from));
        const started = await this.mover.start(job, c, job.cause, { attempt: failure?.attempts ?? 0 });
        return started.kind === 'started' ? started : undefined;
      }, async (started) => {
        if (failures.length > 0) throw failures[0];
        const copied = await this.mover.copy(job, started);
        if (copied.kind !== 'copied') return;
        while (committing.size >= stageDepth * concurrency) await Promise.race(committing);
        const commit: Promise<void> = this.mover.complete(job, copied).then(() => undefined, (err: unknown) => {
          failures.push(err);
        }).finally(() => committing.delete(commit));
        committing.add(commit);
      });
    } finally {
      await Promise.all(committing);
    }
    if (failures.length > 0) throw failures[0];
  }

  /** Moves a crashed owner started: finish them (each on a new target: that owner may still write its old one) and clean up what they left. */
  private async resumeInFlight(job: JobStreamWriter): Promise<void> {
    for (const move of job.state.inFlight.values()) {
      const object = await loadObject(this.pool, move.bucket, move.key);
      const source = object.current?.copies.find((x) => x.backend === move.from);
      const failure = job.state.failures.get(copyKey(move.bucket, move.key, move.writeId, move.from));
      await this.mover.move(job, {
        bucket: move.bucket, key: move.key, writeId: move.writeId, from: move.from,
        storageKey: source?.storageKey ?? '', size: source?.size ?? move.to.size,
      }, job.cause, { inFlight: move, attempt: failure?.attempts ?? 0 });
    }
  }

  /** The job completes; the backend is drained with it, unless the drain was cancelled or replaced meanwhile. */
  private async complete(job: JobStreamWriter, backend: string): Promise<void> {
    const finished = await handleCommand(job.appenderFor({ type: 'Complete' }), this.events, {
      streamId: backendStreamId(backend),
      load: () => loadBackend(this.store, backend),
      decide: (b) => ({ events: decideBackend({ type: 'FinishDrain', jobId: job.jobId }, b), value: b.lifecycle }),
      cause: job.cause,
    });
    if (finished.appended) {
      this.logger.info({ jobId: job.jobId, backend }, 'backend drained');
      return;
    }
    this.logger.warn({ jobId: job.jobId, backend, state: finished.value }, 'drain finished but the backend is no longer draining under this job');
    await job.record({ type: 'Complete' });
  }
}
