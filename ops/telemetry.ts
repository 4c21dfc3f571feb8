import type pg from 'pg';
import type { StreamAppend } from '../domain/eventstore/port.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import type { WorkerBoard } from '../processes/worker-board.js';
import { readTelemetry } from '../projections/read/telemetry-reads.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import { countAppendedEvents } from '../services/telemetry/event-metrics.js';
import type { UsageMeter } from '../services/usage/usage-meter.js';

export interface TelemetryDeps {
  pool: pg.Pool;
  metrics: Metrics;
  backends: BackendDirectory;
  meter: UsageMeter;
  board: WorkerBoard;
  logger: Logger;
}

/**
 * Scrape-time values: quotas (as last refreshed from backend_usage), job progress, drains and
 * rebalances from the jobs projection, cleanup and multipart counts, monthly usage and the worker board. A scrape while the database is down
 * keeps the last values read.
 */
export function wireScrapeMetrics(deps: TelemetryDeps): void {
  const { metrics: m, backends, meter, board } = deps;
  m.onScrape(async () => {
    const names = backends.names();
    for (const backend of names) {
      const q = backends.state(backend);
      if (q) {
        m.quotaUsed.set({ backend }, q.usedBytes);
        m.quotaLimit.set({ backend }, q.quotaBytes);
        m.quotaAvailable.set({ backend }, q.quotaBytes === 0 ? 0 : q.quotaBytes - q.usedBytes - q.orphanBytes - q.pendingBytes);
        m.orphanBytes.set({ backend }, q.orphanBytes);
        m.objectsCount.set({ backend }, q.objectCount);
      }
      const u = meter.effective(backend);
      m.usageApiRequests.set({ backend }, u.apiRequests);
      m.usageEgressBytes.set({ backend }, u.egressBytes);
      m.usageIngressBytes.set({ backend }, u.ingressBytes);
    }
    board.forEach((worker, success, failure, failures) => {
      m.workerLastSuccess.set({ worker }, success);
      m.workerLastFailure.set({ worker }, failure);
      m.workerConsecutiveFailures.set({ worker }, failures);
    });
    let t;
    try {
      t = await readTelemetry(deps.pool);
    } catch (err) {
      deps.logger.debug({ err }, 'metrics: could not read the projections; keeping the last values');
      return;
    }
    const draining = new Set<string>();
    const perKind = new Map<string, { running: number; planned: number; done: number; failed: number; plannedBytes: number; doneBytes: number }>();
    let rebalanceMoved = 0;
    let rebalanceBytes = 0;
    let rebalancePending = 0;
    for (const j of t.jobs) {
      const k = perKind.get(j.kind) ?? { running: 0, planned: 0, done: 0, failed: 0, plannedBytes: 0, doneBytes: 0 };
      k.running += j.running;
      k.planned += j.runningPlanned;
      k.done += j.runningDone;
      k.failed += j.runningFailed;
      k.plannedBytes += j.runningPlannedBytes;
      k.doneBytes += j.runningMovedBytes;
      perKind.set(j.kind, k);
      if (j.kind === 'drain' && j.backend !== null) {
        if (j.running > 0) draining.add(j.backend);
        m.drainObjectsMoved.advanceTo({ backend: j.backend }, j.moved);
        m.drainBytesMoved.advanceTo({ backend: j.backend }, j.movedBytes);
      }
      if (j.kind === 'rebalance') {
        rebalanceMoved += j.moved;
        rebalanceBytes += j.movedBytes;
        rebalancePending += Math.max(0, j.runningPlanned - j.runningDone);
      }
    }
    for (const backend of new Set([...names, ...draining])) m.drainActive.set({ backend }, draining.has(backend) ? 1 : 0);
    // Every backend has its drain series from the start (0 until a drain moves something).
    for (const backend of names) {
      m.drainObjectsMoved.advanceTo({ backend }, 0);
      m.drainBytesMoved.advanceTo({ backend }, 0);
    }
    m.rebalanceObjectsMoved.advanceTo({}, rebalanceMoved);
    m.rebalanceBytesMoved.advanceTo({}, rebalanceBytes);
    m.rebalancePending.set(rebalancePending);
    for (const [kind, k] of perKind) {
      m.jobsRunning.set({ kind }, k.running);
      m.jobObjectsPlanned.set({ kind }, k.planned);
      m.jobObjectsDone.set({ kind }, k.done);
      m.jobObjectsFailed.set({ kind }, k.failed);
      m.jobBytesPlanned.set({ kind }, k.plannedBytes);
      m.jobBytesDone.set({ kind }, k.doneBytes);
    }
    m.cleanupDepth.set({ state: 'pending' }, t.cleanup.pending);
    m.cleanupDepth.set({ state: 'exhausted' }, t.cleanup.exhausted);
    for (const backend of new Set([...names, ...t.uploadsByBackend.keys()])) m.activeMultipartUploads.set({ backend }, t.uploadsByBackend.get(backend) ?? 0);
  });
}

/** What every committed append of this instance feeds: event-derived counters. */
export function observeAppends(metrics: Metrics): (appends: readonly StreamAppend[]) => void {
  return (appends) => {
    for (const a of appends) countAppendedEvents(metrics, a.events);
  };
}
