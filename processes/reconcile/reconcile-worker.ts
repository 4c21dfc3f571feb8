import type pg from 'pg';
import { workerPassCause } from '../../services/event-factory.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { Leases } from '../leases.js';
import { reconcileScope } from './import-scope.js';
import { addScanReports, emptyScanReport, type ScanReport, type UntrackedImporter } from './untracked-importer.js';

export interface ReconcileSettings {
  /** The configured buckets: foreign keys `<bucket>/…` of these are imported, others skipped. */
  buckets: readonly string[];
  /** The configured backends. */
  backends: readonly string[];
}

export interface ReconcileRunReport extends ScanReport {
  /** Backends whose scan failed (unreachable, listing error). */
  failedBackends: string[];
}

export const reconcileLease = 'worker:reconcile';

/**
 * Scans every active backend for objects the log does not know (see `UntrackedImporter`), one
 * instance at a time; `s3o sync` takes the same lease. `now` comes from an injectable clock.
 */
export class ReconcileWorker {
  constructor(
    private readonly pool: pg.Pool,
    private readonly importer: UntrackedImporter,
    private readonly leases: Leases,
    private readonly settings: () => ReconcileSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async runOnce(now: Date = this.clock()): Promise<ReconcileRunReport | undefined> {
    return this.leases.runExclusive(reconcileLease, async (held) => {
      const s = this.settings();
      const cause = workerPassCause('reconcile', now);
      let report: ReconcileRunReport = { ...emptyScanReport(), failedBackends: [] };
      // Draining, drained and removed backends are left alone: nothing new is placed there.
      const active = await this.pool.query<{ backend: string }>(`SELECT backend FROM backend_state WHERE state = 'active' ORDER BY backend`);
      for (const { backend } of active.rows.filter((r) => s.backends.includes(r.backend))) {
        try {
          const scanned = await this.importer.scan(backend, {
            prefix: '', scope: reconcileScope(s.buckets), dryRun: false, now, cause, keepAlive: async () => !held.lost,
          });
          report = { ...addScanReports(report, scanned), failedBackends: report.failedBackends };
          if (!scanned.complete) break;
        } catch (err) {
          report.failedBackends.push(backend);
          this.logger.warn({ err, backend }, 'reconcile could not scan a backend');
        }
      }
      this.logger.info({ ...report }, 'reconcile finished');
      return report;
    });
  }
}
