import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import { RebalanceDriver } from '../processes/jobs/rebalance-driver.js';
import type { Leases } from '../processes/leases.js';
import { Periodic } from '../processes/periodic.js';
import { RebalanceWorker } from '../processes/rebalance/rebalance-worker.js';
import { ReplicationWorker, type OverReplicationReport, type ReplicationReport } from '../processes/replication/replication-worker.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../services/cleanup/orphans.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import type { EventFactory } from '../services/event-factory.js';
import type { Mover } from '../services/moves/mover.js';
import type { ObjectReader } from '../services/objects/object-reader.js';
import type { WritePlacement } from '../services/placement/write-placement.js';
import { CopyHealth } from '../services/replication/copy-health.js';
import { ExcessCopies } from '../services/replication/excess-copies.js';
import { Replicator, type ReplicatorHooks } from '../services/replication/replicator.js';
import type { VersionCopier } from '../services/objects/copy-version.js';
import type { Config } from '../domain/config/config.js';

export interface ReplicationWorkers {
  /** `runOnce()`: a replication pass now; `hooks` let tests act between a replica's copy and its commit. */
  replication: { runOnce(): Promise<ReplicationReport>; hooks: ReplicatorHooks };
  /** `pending()`: objects with copies beyond the factor; `runOnce()`: remove them now. */
  overReplication: { pending(): Promise<{ factor: number; pending: number }>; runOnce(): Promise<OverReplicationReport> };
  /** `runOnce()`: plan a rebalance and start it as a job now (counted in the rebalance metrics). */
  rebalance: Pick<RebalanceWorker, 'runOnce'>;
}

export interface ReplicationDeps {
  pool: pg.Pool;
  store: EventStore;
  events: EventFactory;
  backends: BackendDirectory;
  reader: ObjectReader;
  placement: WritePlacement;
  orphans: OrphanRecorder;
  reclaimer: Reclaimer;
  mover: Mover;
  /** How replicas are copied (verified with integrity.verify_on_replicate). */
  copy: VersionCopier;
  leases: Leases;
  metrics: Metrics;
  logger: Logger;
  kickJobs: () => void;
}

/**
 * Replication, over-replication and the rebalancer, with their schedules. Every setting is read
 * from the live configuration at each run, so a reload (factor, intervals, enabling rebalance)
 * applies at the next tick; `kick(section)` runs the affected worker at once after a reload.
 */
export function replicationWorkers(deps: ReplicationDeps, config: () => Config) {
  const { pool, logger, metrics } = deps;
  const health = new CopyHealth(deps.backends, () => config().replication.unhealthy_threshold);
  const hooks: ReplicatorHooks = {};
  const replicator = new Replicator(pool, deps.store, deps.events, deps.backends, deps.copy, deps.placement, deps.orphans, health, logger, hooks);
  const excess = new ExcessCopies(pool, deps.store, deps.events, deps.backends, deps.reclaimer, health);
  const worker = new ReplicationWorker(pool, deps.leases, replicator, excess, health, () => {
    const r = config().replication;
    return { factor: r.factor, batchSize: r.batch_size, concurrency: r.concurrency };
  }, logger, {
    replicated: (r) => {
      metrics.replicationRuns.inc();
      metrics.replicationCopiesCreated.inc(r.copiesCreated);
      metrics.replicationErrors.inc(r.errors);
      metrics.replicationDuration.observe(r.seconds);
      metrics.replicationPending.set(r.errors);
    },
    trimmed: (r) => {
      metrics.overReplicationRuns.inc();
      metrics.overReplicationRemoved.inc(r.copiesRemoved);
      metrics.overReplicationErrors.inc(r.errors);
      metrics.overReplicationDuration.observe(r.seconds);
      metrics.overReplicationPending.set(r.errors);
    },
  });
  const rebalance = new RebalanceWorker(pool, deps.store, deps.events, deps.backends, deps.leases, () => {
    const r = config().rebalance;
    return { strategy: r.strategy, batchSize: r.batch_size, threshold: r.threshold };
  }, deps.kickJobs, logger);
  const rebalanceDriver = new RebalanceDriver(deps.backends, deps.mover, () => ({ concurrency: config().rebalance.concurrency }), logger);

  /** A planning pass, timed and counted whether the tick or an operator asked for it. */
  const planRebalance = async (cause?: Parameters<RebalanceWorker['runOnce']>[0]) => {
    const started = performance.now();
    const r = await rebalance.runOnce(cause);
    metrics.rebalanceDuration.observe((performance.now() - started) / 1000);
    if (r.status === 'started') metrics.rebalanceRuns.inc();
    else metrics.rebalanceSkipped.inc();
    return r;
  };
  const replicationTick = new Periodic('replication', () => config().replication.worker_interval, () => worker.tick(), logger, { runAtStart: true });
  const rebalanceTick = new Periodic('rebalance', () => config().rebalance.interval, async () => {
    if (config().rebalance.enabled) await planRebalance();
  }, logger);

  const workers: ReplicationWorkers = {
    replication: { runOnce: () => worker.replicate(), hooks },
    overReplication: {
      pending: async () => {
        const b = await worker.backlog();
        return { factor: b.factor, pending: b.over };
      },
      runOnce: () => worker.removeExcess(),
    },
    rebalance: { runOnce: planRebalance },
  };
  return {
    workers,
    rebalanceDriver,
    schedules: [replicationTick, rebalanceTick],
    control: {
      replicate: () => worker.replicate(),
      backlog: () => worker.backlog(),
      removeExcess: () => worker.removeExcess(),
      rebalance: (cause: Parameters<RebalanceWorker['runOnce']>[0]) => planRebalance(cause),
    },
    /** After a reload changed `replication` or `rebalance`: run that worker now instead of at its next tick. */
    kick(section: 'replication' | 'rebalance'): void {
      (section === 'replication' ? replicationTick : rebalanceTick).kick();
    },
  };
}
