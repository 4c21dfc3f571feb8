import type pg from 'pg';
import { newUlid } from '../infra/ids.js';
import type { Logger } from '../infra/telemetry/logger.js';
import { staleUploads } from '../projections/read/upload-reads.js';
import type { Cause } from '../services/event-factory.js';
import type { MultipartService } from '../services/multipart/multipart-service.js';
import type { Leases } from './leases.js';

export interface StaleUploadSettings {
  /** An upload initiated longer ago than this is aborted. */
  timeoutMs: number;
  batchSize: number;
}

export interface StaleUploadRunReport {
  aborted: number;
  failed: number;
}

/**
 * Aborts multipart uploads left open longer than `cleanup_queue.multipart_stale_timeout`:
 * their parts stop counting against the backend's quota, and what the backend cannot confirm
 * aborting becomes a cleanup item. One instance at a time (lease); `now` comes from an
 * injectable clock, like the lifecycle worker's.
 */
export class StaleUploadWorker {
  constructor(
    private readonly pool: pg.Pool,
    private readonly multipart: MultipartService,
    private readonly leases: Leases,
    private readonly settings: () => StaleUploadSettings,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async runOnce(now: Date = this.clock()): Promise<StaleUploadRunReport | undefined> {
    return this.leases.runExclusive('worker:multipart-expiry', async (lease) => {
      const s = this.settings();
      const olderThan = new Date(now.getTime() - s.timeoutMs);
      const cause: Cause = { actor: 'system:multipart-expiry', correlationId: `multipart-expiry-${newUlid(now.getTime())}` };
      const report: StaleUploadRunReport = { aborted: 0, failed: 0 };
      let after = '';
      for (;;) {
        const page = await staleUploads(this.pool, olderThan, s.batchSize, after);
        for (const candidate of page) {
          try {
            // An upload completed or aborted meanwhile is left alone.
            if (await this.multipart.abort(candidate, 'stale', cause)) report.aborted++;
          } catch (err) {
            report.failed++;
            this.logger.warn({ err, uploadId: candidate.uploadId, backend: candidate.backend }, 'could not abort a stale multipart upload');
          }
        }
        const last = page[page.length - 1];
        if (!last || page.length < s.batchSize) break;
        after = last.uploadId;
        if (!(await this.leases.renew(lease))) break;
      }
      if (report.aborted + report.failed > 0) this.logger.info({ ...report }, 'stale multipart uploads aborted');
      return report;
    });
  }
}
