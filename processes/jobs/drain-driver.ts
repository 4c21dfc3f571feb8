import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { decideBackend } from '../../domain/backends/backend-decider.js';
import { backendStreamId } from '../../domain/backends/backend-state.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { copyKey, versionKey, versionOfCopyKey } from '../../domain/jobs/job-state.js';
import type { ObjectState } from '../../domain/objects/object-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { backendHoldings, copiesOnBackend } from '../../projections/read/job-reads.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { uploadsOnBackend } from '../../projections/read/upload-reads.js';
import { loadBackend } from '../../services/backends/backend-lifecycle.js';
import { handleCommand } from '../../services/commands/handle-command.js';
import type { EventFactory } from '../../services/event-factory.js';
import type { Reclaimer } from '../../services/cleanup/reclaimer.js';
import type { MultipartService } from '../../services/multipart/multipart-service.js';
import { JobOwnershipLostError } from '../../services/moves/job-recorder.js';
import type { CopyToMove, Mover } from '../../services/moves/mover.js';
import { jobBackend, pipelinePages, type JobDriver } from './job-driver.js';
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

/**
 * The drain process manager. It resumes from the job's state (its last checkpoint and the
 * events after it): moves in flight when the previous owner died are finished or cleaned up
 * first, then copies leave the backend page by page (smallest first) until none, no pending
 * cleanup and no multipart upload remain; then the backend is recorded as drained. Before a
 * page read with no move in flight it reads only what others appended to the job (a cancel
 * stops it; moved copies stay moved), so a page costs the same however long the drain has run.
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
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const backend = jobBackend(job);
    await this.resumeInFlight(job);
    while (!signal.aborted) {
      let listed: number | 'stopped';
      try {
        listed = await this.moveCopies(job, backend, signal);
      } catch (err) {
        // A step refused because the job was cancelled meanwhile: the drain stops here, as it would have between pages.
        if (!(err instanceof JobOwnershipLostError) || (await job.catchUp()).status === 'running') throw err;
        return;
      }
      if (listed === 'stopped') return;
      if (listed > 0) continue;
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
    }
  }

  /**
   * Moves the copies on the backend, page after page, until a page finds none (answering how
   * many were listed) or the job no longer runs ('stopped'). A page is read once every copy in
   * hand has been taken to be started, leaving out those still moving (and those waiting for
   * a retry): the next copies start while the last ones of the page copy and commit, instead of
   * the drain emptying its pipeline every page.
   *
   * Moves are started (object read, target reserved) by up to `stageDepth` x `concurrency` at
   * once ahead of the ones copying, and a copied move's commit goes on while the next copy runs
   * (at most `stageDepth` x `concurrency` commits waiting): the job's steps commit together in
   * fewer, larger appends, and neither a copy nor the next one waits for a commit of its own.
   * `concurrency` copies run at once. Every commit has settled when this returns.
   */
  private async moveCopies(job: JobStreamWriter, backend: string, signal: AbortSignal): Promise<number | 'stopped'> {
    const committing = new Set<Promise<void>>();
    const failures: unknown[] = [];
    // Copies listed whose moves have not settled: a page read meanwhile must not list them again.
    const moving = new Set<string>();
    const settled = (c: CopyToMove): void => {
      moving.delete(versionKey(c.bucket, c.key, c.writeId));
    };
    let listed = 0;
    let stopped = false;
    const { batchSize, concurrency } = this.settings();
    const next = async (): Promise<{ copy: CopyToMove; state: Promise<ObjectState> }[]> => {
      if (signal.aborted || failures.length > 0) return [];
      // Caught up only with no move in flight (it waits for the job's appends in hand): meanwhile an
      // append by another writer (a cancel) fails the next step, whose error says so (see run).
      const state = moving.size === 0 ? await job.catchUp() : job.state;
      if (state.status !== 'running') {
        stopped = true;
        return [];
      }
      for (const upload of await uploadsOnBackend(this.pool, backend)) await this.multipart.abort(upload, 'drain', job.cause);
      const now = this.events.now().getTime();
      const waiting = [...state.failures].filter(([, f]) => Date.parse(f.retryAt) > now).map(([k]) => versionOfCopyKey(k));
      const page = await copiesOnBackend(this.pool, backend, batchSize, [...waiting, ...moving]);
      for (const c of page) moving.add(versionKey(c.bucket, c.key, c.writeId));
      listed += page.length;
      const copies = page.map((c) => ({ ...c, from: backend }));
      const states = this.mover.readObjects(copies);
      return copies.map((c, i) => ({ copy: c, state: states[i] as Promise<ObjectState> }));
    };
    try {
      await pipelinePages(next, stageDepth * concurrency, concurrency, async ({ copy: c, state }) => {
        if (signal.aborted || failures.length > 0) return undefined;
        const failure = job.state.failures.get(copyKey(c.bucket, c.key, c.writeId, c.from));
        const started = await this.mover.start(job, c, job.cause, { attempt: failure?.attempts ?? 0, state });
        if (started.kind === 'started') return started;
        settled(c);
        return undefined;
      }, async (started) => {
        if (failures.length > 0) throw failures[0];
        const copied = await this.mover.copy(job, started);
        if (copied.kind !== 'copied') {
          settled(started.copy);
          return;
        }
        while (committing.size >= stageDepth * concurrency) await Promise.race(committing);
        const commit: Promise<void> = this.mover.complete(job, copied).then(() => undefined, (err: unknown) => {
          failures.push(err);
        }).finally(() => {
          committing.delete(commit);
          settled(copied.copy);
        });
        committing.add(commit);
      });
    } finally {
      await Promise.all(committing);
    }
    if (failures.length > 0) throw failures[0];
    return stopped ? 'stopped' : listed;
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
