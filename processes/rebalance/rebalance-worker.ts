import type pg from 'pg';
import { newUlid } from '../../infra/ids.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { decideJob } from '../../domain/jobs/job-decider.js';
import { initialJobState, jobStreamId } from '../../domain/jobs/job-state.js';
import type { RoutingStrategy } from '../../domain/placement/placement.js';
import { planRebalance, type RebalanceBackend, type RebalanceCopy } from '../../domain/placement/rebalance-plan.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { runningRebalance, smallestCopies } from '../../projections/read/rebalance-reads.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import { handleCommand } from '../../services/commands/handle-command.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import type { Leases } from '../leases.js';

export interface RebalanceSettings {
  strategy: RoutingStrategy;
  batchSize: number;
  threshold: number;
}

export type RebalanceReport =
  | { status: 'started'; jobId: string; moves: number; bytes: number; spread: number; spreadAfter: number }
  | { status: 'skipped'; reason: string; spread?: number };

/**
 * Plans one rebalance run from the projections and starts it as a job (kind `rebalance`), whose
 * moves the job supervisor runs through the shared mover, resumable after a crash. Backends
 * that are not active, whose circuit breaker is not closed, or that have no quota take no part:
 * nothing is moved onto or off them. One run at a time: while a rebalance job runs, no new one
 * is planned.
 */
export class RebalanceWorker {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly leases: Leases,
    private readonly settings: () => RebalanceSettings,
    private readonly kickJobs: () => void,
    private readonly logger: Logger,
  ) {}

  /**
   * Plans and starts a run now (also when disabled in the configuration: an operator asked).
   * One planning at a time here (a second waits, then finds the first one's job running).
   */
  runOnce(cause: Cause = { actor: 'system:rebalance' }): Promise<RebalanceReport> {
    const run = this.tail.then(() => this.plan(cause));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async plan(cause: Cause): Promise<RebalanceReport> {
    const result = await this.leases.runExclusive('worker:rebalance', async (): Promise<RebalanceReport> => {
      const running = await runningRebalance(this.pool);
      if (running) return { status: 'skipped', reason: `rebalance job ${running} is still running` };
      const s = this.settings();
      const participants = await this.participants();
      const copies = new Map<string, RebalanceCopy[]>();
      for (const b of participants) copies.set(b.name, await smallestCopies(this.pool, b.name, s.batchSize));
      const plan = planRebalance(s.strategy, participants, copies, { threshold: s.threshold, maxMoves: s.batchSize });
      if (plan.spread < s.threshold) return { status: 'skipped', reason: 'utilisation is within the threshold', spread: plan.spread };
      if (plan.moves.length === 0) return { status: 'skipped', reason: 'no copy can be moved closer to the goal', spread: plan.spread };

      const jobId = newUlid(this.events.now().getTime());
      const bytes = plan.moves.reduce((n, m) => n + m.size, 0);
      const start = {
        jobId, kind: 'rebalance' as const, objectsTotal: plan.moves.length, bytesTotal: bytes,
        params: { strategy: s.strategy, threshold: s.threshold, spread: plan.spread, spreadAfter: plan.spreadAfter, moves: plan.moves },
      };
      await handleCommand(this.store, this.events, {
        streamId: jobStreamId(jobId),
        load: () => Promise.resolve(initialJobState(jobId)),
        decide: (job) => ({ events: decideJob({ type: 'Start', start }, job), value: undefined }),
        cause: { correlationId: jobId, ...cause },
        maxAttempts: 1,
      });
      this.logger.info({ jobId, strategy: s.strategy, moves: plan.moves.length, bytes, spread: plan.spread, spreadAfter: plan.spreadAfter }, 'rebalance started');
      this.kickJobs();
      return { status: 'started', jobId, moves: plan.moves.length, bytes, spread: plan.spread, spreadAfter: plan.spreadAfter };
    });
    return result ?? { status: 'skipped', reason: 'another instance is planning a rebalance' };
  }

  private async participants(): Promise<RebalanceBackend[]> {
    await this.backends.refresh(this.pool);
    const out: RebalanceBackend[] = [];
    for (const name of this.backends.names()) {
      const b = this.backends.require(name);
      const snap = this.backends.state(name);
      if (!snap || snap.state !== 'active' || b.breaker.current() !== 'closed' || b.settings.quotaBytes === 0) continue;
      out.push({ name, order: b.order, quotaBytes: b.settings.quotaBytes, occupiedBytes: snap.usedBytes + snap.orphanBytes + snap.pendingBytes });
    }
    return out;
  }
}
