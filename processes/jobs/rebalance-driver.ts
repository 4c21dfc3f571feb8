import { z } from 'zod';
import { copyKey, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import type { Mover } from '../../services/moves/mover.js';
import { forEachConcurrently, loadJob, type JobDriver } from './job-driver.js';
import { JobStreamWriter } from './job-stream-writer.js';

export interface RebalanceDriverSettings {
  concurrency: number;
}

const PlannedMoves = z.array(z.object({
  bucket: z.string(), key: z.string(), writeId: z.string(), storageKey: z.string(), size: z.number().int().nonnegative(), from: z.string(), to: z.string(),
}));

/**
 * Runs a rebalance job: the moves planned when it started (in its JobStarted), each through the
 * shared mover onto its planned target, never dropping a copy. Moves in flight when a previous
 * owner died are finished first; moves already settled are not repeated. A move whose source or
 * target is no longer active with a closed circuit breaker is skipped (the next run replans);
 * a failed move is not retried within the job.
 */
export class RebalanceDriver implements JobDriver {
  readonly kind = 'rebalance' as const;

  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly mover: Mover,
    private readonly settings: () => RebalanceDriverSettings,
    private readonly logger: Logger,
  ) {}

  async run(jobId: string, signal: AbortSignal): Promise<void> {
    const cause: Cause = { actor: 'system:rebalance', correlationId: jobId };
    const state = await loadJob(this.store, jobId);
    if (state.status !== 'running') return;
    const parsed = PlannedMoves.safeParse(state.params.moves);
    const writer = new JobStreamWriter(this.store, jobId, state.revision);
    if (!parsed.success) {
      await writer.record([this.events.event('JobFailed', { jobId, error: 'the job has no valid move plan' }, cause)]);
      return;
    }
    for (const move of state.inFlight.values()) {
      if (signal.aborted) return;
      const failure = state.failures.get(copyKey(move.bucket, move.key, move.writeId, move.from));
      const planned = parsed.data.find((m) => this.mover.moveId(jobId, m) === move.moveId);
      await this.mover.move(writer, {
        bucket: move.bucket, key: move.key, writeId: move.writeId, from: move.from, storageKey: planned?.storageKey ?? '', size: planned?.size ?? move.to.size,
      }, cause, { inFlight: move, attempt: failure?.attempts ?? 0, target: move.to.backend });
    }
    const settled = await this.settledMoves(state);
    const pending = parsed.data.filter((m) => !settled.has(this.mover.moveId(jobId, m)));
    await forEachConcurrently(pending, this.settings().concurrency, async (m) => {
      if (signal.aborted) return;
      const copy = { bucket: m.bucket, key: m.key, writeId: m.writeId, from: m.from, storageKey: m.storageKey, size: m.size };
      const unusable = [m.from, m.to].find((name) => !this.usable(name));
      if (unusable !== undefined) {
        await writer.record([this.events.event('MoveSkipped', {
          jobId, moveId: this.mover.moveId(jobId, copy), bucket: m.bucket, key: m.key, writeId: m.writeId,
          reason: `${unusable} is no longer active with a closed circuit breaker`,
        }, cause)]);
        return;
      }
      await this.mover.move(writer, copy, cause, { attempt: 0, target: m.to });
    });
    if (signal.aborted) return;
    await writer.record([this.events.event('JobCompleted', { jobId }, cause)]);
    this.logger.info({ jobId, moves: parsed.data.length }, 'rebalance finished');
  }

  /** Nothing is ever moved onto or off a draining or circuit-broken backend. */
  private usable(name: string): boolean {
    const b = this.backends.get(name);
    return b !== undefined && b.breaker.current() === 'closed' && this.backends.state(name)?.state === 'active';
  }

  /** Moves this job already finished, skipped or failed (a restarted job does not repeat them). */
  private async settledMoves(state: JobState): Promise<Set<string>> {
    const read = await this.store.readStream(jobStreamId(state.jobId));
    const settled = new Set<string>();
    for (const e of read.events) {
      if (e.type === 'MoveCompleted' || e.type === 'MoveSkipped' || e.type === 'MoveFailed') settled.add((e.data as { moveId: string }).moveId);
    }
    return settled;
  }
}
