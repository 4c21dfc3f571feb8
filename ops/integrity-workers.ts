import type pg from 'pg';
import type { Config } from '../domain/config/config.js';
import type { EventStore } from '../domain/eventstore/port.js';
import type { IntegrityComponent } from '../domain/events/integrity-events.js';
import type { Logger } from '../infra/telemetry/logger.js';
import { integrityMetrics } from '../infra/telemetry/integrity-metrics.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import { IntegrityWorker } from '../processes/integrity/integrity-worker.js';
import type { Leases } from '../processes/leases.js';
import { Periodic } from '../processes/periodic.js';
import { integrityStats } from '../projections/read/integrity-reads.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../services/cleanup/orphans.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import type { EventFactory } from '../services/event-factory.js';
import { CopyRepairer } from '../services/integrity/copy-repairer.js';
import { IntegrityLedger } from '../services/integrity/integrity-ledger.js';
import { IntegrityService } from '../services/integrity/integrity-service.js';
import type { ObjectReader } from '../services/objects/object-reader.js';
import type { PlaintextReader } from '../services/objects/plaintext-reader.js';
import type { WritePlacement } from '../services/placement/write-placement.js';

export interface IntegrityDeps {
  pool: pg.Pool;
  store: EventStore;
  events: EventFactory;
  backends: BackendDirectory;
  reader: ObjectReader;
  plain: PlaintextReader;
  placement: WritePlacement;
  orphans: OrphanRecorder;
  reclaimer: Reclaimer;
  leases: Leases;
  metrics: Metrics;
  logger: Logger;
}

/** How often the integrity gauges are refreshed while integrity is on. */
const statsInterval = 60_000;

/**
 * The integrity service (checks, findings, repairs) and its worker (scrubber and checksum
 * backfill) with its schedule: a scrub pass every `integrity.scrubber_interval` (0: none), read
 * from the live configuration at each tick so a reload applies.
 */
export function integrityWorkers(deps: IntegrityDeps, config: () => Config) {
  const { pool, logger } = deps;
  const metrics = integrityMetrics(deps.metrics.registry);
  const ledger = new IntegrityLedger(deps.store, pool, deps.events);
  const observer = {
    checked: (component: IntegrityComponent) => metrics.integrityChecks.inc({ component }),
    corrupt: (component: IntegrityComponent) => metrics.integrityErrors.inc({ component }),
    repaired: () => metrics.integrityRepairs.inc(),
  };
  const repairer = new CopyRepairer(ledger, deps.backends, deps.reader, deps.plain, deps.placement, deps.orphans, deps.reclaimer, observer, logger);
  const service = new IntegrityService(ledger, repairer, deps.backends, deps.plain, observer, logger);
  const refreshStats = async () => {
    const s = await integrityStats(pool);
    metrics.integrityNeverVerified.set(s.neverVerified);
    metrics.integrityOldestUnverified.set(s.oldestUnverifiedSeconds);
    return s;
  };
  const worker = new IntegrityWorker(pool, deps.store, deps.events, deps.leases, service, () => {
    const i = config().integrity;
    return { enabled: i.enabled, batchSize: i.scrubber_batch_size };
  }, logger, () => void refreshStats().catch(() => undefined));
  // Interval 0 (no scheduled scrub) still ticks rarely, doing nothing, so enabling it by reload takes effect.
  const scrubTick = new Periodic('scrubber', () => config().integrity.scrubber_interval || 60_000, async () => {
    const i = config().integrity;
    if (i.enabled && i.scrubber_interval > 0) await worker.scrub('schedule');
  }, logger);
  const statsTick = new Periodic('integrity-stats', () => statsInterval, async () => {
    if (config().integrity.enabled) await refreshStats();
  }, logger, { runAtStart: true });
  return {
    service,
    worker,
    schedules: [scrubTick, statsTick],
    control: {
      scrub: (batchSize: number | undefined, cause: Parameters<IntegrityWorker['scrub']>[2]) => worker.scrub('admin', batchSize, cause),
      backfill: (batchSize: number | undefined, cause: Parameters<IntegrityWorker['backfillChecksums']>[1]) => worker.backfillChecksums(batchSize, cause),
      stats: refreshStats,
    },
  };
}
