import type pg from 'pg';
import type { Logger } from '../infra/telemetry/logger.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import type { Reclaimer } from '../services/cleanup/reclaimer.js';
import { workerPassCause, type Cause } from '../services/event-factory.js';
import type { ObjectCommands } from '../services/objects/object-commands.js';
import { forEachPage } from './keyset-pages.js';
import type { Leases } from './leases.js';

export interface LifecycleRuleSettings {
  /** Restricts the rule to one bucket; null = every configured bucket. */
  bucket: string | null;
  /** Matched against the key inside the bucket, never the internal `bucket/key` string. */
  prefix: string;
  expirationDays: number;
}

export interface LifecycleSettings {
  rules: readonly LifecycleRuleSettings[];
  /** The configured buckets: objects of a bucket no longer configured are left alone. */
  buckets: readonly string[];
  batchSize: number;
}

export interface LifecycleRunReport {
  deleted: number;
  /** Candidates that were overwritten or deleted by someone else before their turn. */
  skipped: number;
  failed: number;
}

const dayMs = 24 * 60 * 60 * 1000;

interface Candidate {
  bucket: string;
  key: string;
  write_id: string;
}

/**
 * Expires objects: deletes every object whose last modification is older than the expiration
 * of a rule that matches its bucket and key. One instance at a time (lease); rules and batch
 * size are read at every run, so a configuration reload applies at the next run.
 *
 * `now` comes from an injectable clock (default: the wall clock), so an operator tool or a
 * test can ask "what is expired at time T" without rewriting history.
 */
export class LifecycleWorker {
  constructor(
    private readonly pool: pg.Pool,
    private readonly objects: ObjectCommands,
    private readonly reclaimer: Reclaimer,
    private readonly backends: BackendDirectory,
    private readonly leases: Leases,
    private readonly settings: () => LifecycleSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async runOnce(now: Date = this.clock()): Promise<LifecycleRunReport | undefined> {
    return this.leases.runExclusive('worker:lifecycle', async (held) => {
      const s = this.settings();
      const cause = workerPassCause('lifecycle', now);
      const report: LifecycleRunReport = { deleted: 0, skipped: 0, failed: 0 };
      for (const rule of s.rules) {
        const buckets = rule.bucket === null ? [...s.buckets] : s.buckets.filter((b) => b === rule.bucket);
        if (buckets.length === 0) continue;
        const cutoff = new Date(now.getTime() - rule.expirationDays * dayMs);
        // Keyset pagination: deleting rows never shifts the next page.
        const finished = await forEachPage<Candidate>(held, s.batchSize, async (after) => (await this.pool.query<Candidate>(
          `SELECT bucket, key, write_id FROM objects
            WHERE bucket = ANY($1::text[]) AND starts_with(key, $2) AND last_modified < $3
              AND (bucket, key) > ($4, $5)
            ORDER BY bucket, key LIMIT $6`,
          [buckets, rule.prefix, cutoff, after?.bucket ?? '', after?.key ?? '', s.batchSize],
        )).rows, async (page) => {
          for (const c of page) await this.expire(c, cause, report);
        });
        if (!finished) {
          this.logger.warn('lifecycle lease lost; the run stops here');
          return report;
        }
      }
      if (report.deleted + report.failed > 0) this.logger.info({ ...report }, 'lifecycle run finished');
      return report;
    });
  }

  private async expire(c: Candidate, cause: Cause, report: LifecycleRunReport): Promise<void> {
    try {
      // Only the expired version: a client that overwrote the key meanwhile keeps its new one.
      const displaced = await this.objects.delete(c.bucket, c.key, 'lifecycle', cause, { expectedWriteId: c.write_id });
      if (!displaced) {
        report.skipped++;
        return;
      }
      for (const d of displaced) this.backends.noteUsage(d.backend, { used: -d.size, orphan: d.size, count: -1 });
      // What cannot be deleted now stays in the cleanup queue for the cleanup worker.
      await this.reclaimer.reclaim(displaced, cause);
      report.deleted++;
    } catch (err) {
      report.failed++;
      this.logger.warn({ err, bucket: c.bucket, key: c.key }, 'lifecycle could not delete an expired object');
    }
  }
}
