import type { ObjectEncryption } from '../services/encryption/object-encryption.js';
import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Metrics } from '../infra/telemetry/metrics.js';
import { Leases } from '../processes/leases.js';
import { LifecycleWorker } from '../processes/lifecycle-worker.js';
import { Periodic } from '../processes/periodic.js';
import { runSync } from '../processes/reconcile/sync-run.js';
import { ReconcileWorker } from '../processes/reconcile/reconcile-worker.js';
import { UntrackedImporter } from '../processes/reconcile/untracked-importer.js';
import { StaleUploadWorker } from '../processes/stale-upload-worker.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { OrphanRecorder } from '../services/cleanup/orphans.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import type { EventFactory } from '../services/event-factory.js';
import type { MultipartService } from '../services/multipart/multipart-service.js';
import type { ObjectCommands } from '../services/objects/object-commands.js';
import type { Config } from '../domain/config/config.js';
import type { SyncControl } from '../gateway/admin/controls.js';

/** The original's multipart cleanup period. */
const staleUploadInterval = 60 * 60 * 1000;

export interface DurabilityWorkers {
  lifecycle: LifecycleWorker;
  staleUploads: StaleUploadWorker;
  reconcile: ReconcileWorker;
}

export interface DurabilityDeps {
  pool: pg.Pool;
  store: EventStore;
  events: EventFactory;
  objects: ObjectCommands;
  reclaimer: Reclaimer;
  orphans: OrphanRecorder;
  multipart: MultipartService;
  backends: BackendDirectory;
  leases: Leases;
  metrics: Metrics;
  logger: Logger;
  /** Reads encrypted objects the reconciler imports; absent when no key is configured. */
  encryption: ObjectEncryption | undefined;
}

/**
 * Lifecycle expiration, stale multipart expiry and the reconciler, with their schedules.
 * Lifecycle and stale-upload settings are read from the live config at every run (reloadable);
 * reconcile's `enabled` and `interval` are read once (restart-only).
 */
export function durabilityWorkers(deps: DurabilityDeps, config: () => Config): { workers: DurabilityWorkers; schedules: Periodic[]; sync: SyncControl } {
  const { pool, logger, leases } = deps;
  const lifecycle = new LifecycleWorker(pool, deps.objects, deps.reclaimer, deps.backends, leases, () => {
    const c = config();
    return {
      rules: c.lifecycle.rules.map((r) => ({ bucket: r.bucket, prefix: r.prefix, expirationDays: r.expiration_days })),
      buckets: c.buckets.map((b) => b.name),
      batchSize: c.lifecycle.batch_size,
    };
  }, logger);
  const staleUploads = new StaleUploadWorker(pool, deps.multipart, leases, () => ({
    timeoutMs: config().cleanup_queue.multipart_stale_timeout, batchSize: 100,
  }), logger);
  const importer = new UntrackedImporter(pool, deps.store, deps.events, deps.backends, deps.orphans, logger, deps.encryption);
  const reconcile = new ReconcileWorker(pool, importer, leases, () => ({
    buckets: config().buckets.map((b) => b.name), backends: deps.backends.names(),
  }), logger);
  const { enabled, interval } = config().reconcile;
  const schedules = [
    new Periodic('lifecycle', () => config().lifecycle.interval, async () => {
      const report = await lifecycle.runOnce();
      if (!report) return;
      deps.metrics.lifecycleRuns.inc();
      deps.metrics.lifecycleDeleted.inc(report.deleted);
      deps.metrics.lifecycleFailed.inc(report.failed);
    }, logger),
    new Periodic('multipart-expiry', () => staleUploadInterval, () => staleUploads.runOnce(), logger),
    ...(enabled ? [new Periodic('reconcile', () => interval, () => reconcile.runOnce(), logger)] : []),
  ];
  // A sync holds the reconcile lease under an owner of its own, so it never runs beside this
  // instance's reconciler (same owner would renew the reconciler's lease instead of waiting).
  const syncLeases = new Leases(pool, `${leases.owner}:sync`, 120_000);
  const sync: SyncControl = {
    run: (r, cause) => runSync({ db: pool, importer, leases: syncLeases, buckets: config().buckets.map((b) => b.name) },
      { ...r, dryRun: false, now: new Date(), cause }),
  };
  return { workers: { lifecycle, staleUploads, reconcile }, schedules, sync };
}
