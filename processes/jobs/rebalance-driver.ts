import { z } from 'zod';
import { copyKey } from '../../domain/jobs/job-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { Mover } from '../../services/moves/mover.js';
import { forEachConcurrently, type JobDriver } from './job-driver.js';
import type { JobStreamWriter } from './job-stream-writer.js';

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
    private readonly backends: BackendDirectory,
    private readonly mover: Mover,
    private readonly settings: () => RebalanceDriverSettings,
    private readonly logger: Logger,
  ) {}

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const jobId = job.jobId;
    const state = job.state;
    const parsed = PlannedMoves.safeParse(state.params.moves);
    if (!parsed.success) {
      await job.record({ type: 'Fail', error: 'the job has no valid move plan' });
      return;
    }
    for (const move of state.inFlight.values()) {
      if (signal.aborted) return;
      const failure = state.failures.get(copyKey(move.bucket, move.key, move.writeId, move.from));
      const planned = parsed.data.find((m) => this.mover.moveId(jobId, m) === move.moveId);
      await this.mover.move(job, {
        bucket: move.bucket, key: move.key, writeId: move.writeId, from: move.from, storageKey: planned?.storageKey ?? '', size: planned?.size ?? move.to.size,
      }, job.cause, { inFlight: move, attempt: failure?.attempts ?? 0, target: move.to.backend });
    }
    const pending = parsed.data.filter((m) => !job.state.settled.has(this.mover.moveId(jobId, m)));
    await forEachConcurrently(pending, this.settings().concurrency, async (m) => {
      if (signal.aborted) return;
      const copy = { bucket: m.bucket, key: m.key, writeId: m.writeId, from: m.from, storageKey: m.storageKey, size: m.size };
      const unusable = [m.from, m.to].find((name) => !this.usable(name));
      if (unusable !== undefined) {
        await job.record({
          type: 'SkipMove',
          move: { jobId, moveId: this.mover.moveId(jobId, copy), bucket: m.bucket, key: m.key, writeId: m.writeId },
          reason: `${unusable} is no longer active with a closed circuit breaker`,
        });
        return;
      }
      await this.mover.move(job, copy, job.cause, { attempt: 0, target: m.to });
    });
    if (signal.aborted) return;
    await job.record({ type: 'Complete' });
    this.logger.info({ jobId, moves: parsed.data.length }, 'rebalance finished');
  }

  /** Nothing is ever moved onto or off a draining or circuit-broken backend. */
  private usable(name: string): boolean {
    const b = this.backends.get(name);
    return b !== undefined && b.breaker.current() === 'closed' && this.backends.state(name)?.state === 'active';
  }
}
