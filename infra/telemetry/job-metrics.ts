import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * A counter whose value is a running total kept elsewhere (a projection), so it survives
 * restarts and is the same on every instance: each scrape advances it to the total. A total
 * that went down (a projection rebuilt from a shorter log) is ignored until it passes the old one.
 */
export class ProjectedCounter<L extends string> {
  private readonly seen = new Map<string, number>();

  constructor(readonly counter: Counter<L>) {}

  advanceTo(labels: Record<L, string>, total: number): void {
    const key = Object.values(labels).join('\u0000');
    const before = this.seen.get(key);
    if (before === undefined) this.counter.inc(labels, total);
    else if (total > before) this.counter.inc(labels, total - before);
    else return;
    this.seen.set(key, total);
  }
}

/**
 * Long-running jobs (drain, remove, purge, rebalance) and the workers that run in the
 * background, read from the jobs projection and the worker status board at each scrape.
 * Totals derived from the jobs projection are cluster-wide: every instance reports the same
 * value, so dashboards take `max` across instances, not `sum`.
 */
export function jobMetrics(registry: Registry) {
  const registers = [registry];
  const byKind = ['kind'];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new ProjectedCounter(new Counter<L>({ name, help, labelNames, registers }));
  return {
    drainActive: new Gauge({ name: 's3o_drain_active', help: '1 while a drain of this backend is in progress', labelNames: ['backend'], registers }),
    drainObjectsMoved: counter('s3o_drain_objects_moved_total', 'Copies drains moved off this backend (all drains, from the jobs projection)', ['backend']),
    drainBytesMoved: counter('s3o_drain_bytes_moved_total', 'Bytes drains moved off this backend (all drains, from the jobs projection)', ['backend']),
    rebalanceObjectsMoved: counter('s3o_rebalance_objects_moved_total', 'Copies rebalance jobs moved (from the jobs projection)', []),
    rebalanceBytesMoved: counter('s3o_rebalance_bytes_moved_total', 'Bytes rebalance jobs moved (from the jobs projection)', []),
    rebalancePending: new Gauge({ name: 's3o_rebalance_pending', help: 'Planned moves of running rebalance jobs not settled yet', registers }),
    jobsRunning: new Gauge({ name: 's3o_jobs_running', help: 'Jobs in progress per kind', labelNames: byKind, registers }),
    jobObjectsPlanned: new Gauge({ name: 's3o_job_objects_planned', help: 'Objects running jobs of this kind had to handle when they started', labelNames: byKind, registers }),
    jobObjectsDone: new Gauge({ name: 's3o_job_objects_done', help: 'Objects running jobs of this kind have moved, dropped or skipped', labelNames: byKind, registers }),
    jobObjectsFailed: new Gauge({ name: 's3o_job_objects_failed', help: 'Failed move attempts of running jobs of this kind', labelNames: byKind, registers }),
    jobBytesPlanned: new Gauge({ name: 's3o_job_bytes_planned', help: 'Bytes running jobs of this kind had to handle when they started', labelNames: byKind, registers }),
    jobBytesDone: new Gauge({ name: 's3o_job_bytes_done', help: 'Bytes running jobs of this kind have moved', labelNames: byKind, registers }),
    projectionLag: new Gauge({ name: 's3o_projection_lag_events', help: 'Events an async projection is behind', labelNames: ['projection'], registers }),
    workerLastSuccess: new Gauge({
      name: 's3o_worker_last_success_timestamp_seconds', help: 'When the worker last finished a run without error (0: never)', labelNames: ['worker'], registers,
    }),
    workerLastFailure: new Gauge({
      name: 's3o_worker_last_failure_timestamp_seconds', help: 'When a run of the worker last failed (0: never)', labelNames: ['worker'], registers,
    }),
    workerConsecutiveFailures: new Gauge({ name: 's3o_worker_consecutive_failures', help: 'Failed runs of the worker since its last success', labelNames: ['worker'], registers }),
  };
}
