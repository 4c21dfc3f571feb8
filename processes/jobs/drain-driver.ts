import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { backendStreamId } from '../../domain/backends/backend-decider.js';
import { copyKey, type JobState } from '../../domain/jobs/job-state.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { backendHoldings, copiesOnBackend } from '../../projections/read/job-reads.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { uploadsOnBackend } from '../../projections/read/upload-reads.js';
import { loadBackend } from '../../services/backends/backend-lifecycle.js';
import type { EventFactory } from '../../services/event-factory.js';
import type { MultipartService } from '../../services/multipart/multipart-service.js';
import type { Mover } from '../../services/moves/mover.js';
import { forEachConcurrently, loadJob, type JobDriver } from './job-driver.js';
import { JobStreamWriter } from './job-stream-writer.js';

export interface DrainSettings {
  batchSize: number;
  concurrency: number;
}

/**
 * The drain process manager. Its state is the job stream, replayed at every (re)start: moves
 * in flight when the previous owner died are finished or cleaned up first, then copies leave
 * the backend in bounded batches (smallest first) until none, no pending cleanup and no
 * multipart upload remain; then the backend is recorded as drained. Cancelling (a JobCancelled
 * on the stream) stops it at once; moved copies stay moved.
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
    private readonly logger: Logger,
  ) {}

  async run(jobId: string, signal: AbortSignal): Promise<void> {
    const cause = { actor: 'system:drain', correlationId: jobId };
    let state = await loadJob(this.store, jobId);
    if (state.status !== 'running' || !state.backend) return;
    const backend = state.backend;
    const writer = new JobStreamWriter(this.store, jobId, state.revision);

    await this.resumeInFlight(state, writer, cause);
    while (!signal.aborted) {
      state = await loadJob(this.store, jobId);
      if (state.status !== 'running') return;
      for (const upload of await uploadsOnBackend(this.pool, backend)) await this.multipart.abort(upload, 'drain', cause);

      const now = this.events.now().getTime();
      const waiting = [...state.failures].filter(([, f]) => Date.parse(f.retryAt) > now).map(([k]) => k.slice(0, k.lastIndexOf('@')));
      const { batchSize, concurrency } = this.settings();
      const batch = await copiesOnBackend(this.pool, backend, batchSize, waiting);
      if (batch.length === 0) {
        const held = await backendHoldings(this.pool, backend);
        if (held.objects === 0 && held.pendingCleanup === 0 && held.exhaustedCleanup === 0 && held.uploads === 0) {
          await this.complete(jobId, backend, writer, cause);
          return;
        }
        if (held.pendingCleanup > 0) this.kickCleanup();
        await sleep(1000, undefined, { signal }).catch(() => undefined);
        continue;
      }
      await forEachConcurrently(batch, concurrency, async (c) => {
        if (signal.aborted) return;
        const failure = state.failures.get(copyKey(c.bucket, c.key, c.writeId, backend));
        await this.mover.move(writer, { ...c, from: backend }, cause, { attempt: failure?.attempts ?? 0 });
      });
    }
  }

  /** Moves a crashed owner started: finish them with the same target, or clean up what they left. */
  private async resumeInFlight(state: JobState, writer: JobStreamWriter, cause: { actor: string; correlationId: string }): Promise<void> {
    for (const move of state.inFlight.values()) {
      const object = await loadObject(this.pool, move.bucket, move.key);
      const source = object.current?.copies.find((x) => x.backend === move.from);
      const failure = state.failures.get(copyKey(move.bucket, move.key, move.writeId, move.from));
      await this.mover.move(writer, {
        bucket: move.bucket, key: move.key, writeId: move.writeId, from: move.from,
        storageKey: source?.storageKey ?? '', size: source?.size ?? move.to.size,
      }, cause, { inFlight: move, attempt: failure?.attempts ?? 0 });
    }
  }

  private async complete(jobId: string, backend: string, writer: JobStreamWriter, cause: { actor: string; correlationId: string }): Promise<void> {
    const b = await loadBackend(this.store, backend);
    if (b.lifecycle !== 'draining' || b.drainJobId !== jobId) {
      this.logger.warn({ jobId, backend, state: b.lifecycle }, 'drain finished but the backend is no longer draining under this job');
      await writer.record([this.events.event('JobCompleted', { jobId }, cause)]);
      return;
    }
    await writer.record([this.events.event('JobCompleted', { jobId }, cause)], [{
      streamId: backendStreamId(backend),
      events: [this.events.event('BackendDrained', { backend, jobId }, cause)],
      expected: b.revision,
    }]);
    this.logger.info({ jobId, backend }, 'backend drained');
  }
}
