import type pg from 'pg';
import type { Logger } from '../infra/telemetry/logger.js';
import { staleUploads, type UploadRow } from '../projections/read/upload-reads.js';
import { workerPassCause } from '../services/event-factory.js';
import type { MultipartService } from '../services/multipart/multipart-service.js';
import { forEachPage } from './keyset-pages.js';
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
    return this.leases.runExclusive('worker:multipart-expiry', async (held) => {
      const s = this.settings();
      const olderThan = new Date(now.getTime() - s.timeoutMs);
      const cause = workerPassCause('multipart-expiry', now);
      const report: StaleUploadRunReport = { aborted: 0, failed: 0 };
      await forEachPage<UploadRow>(held, s.batchSize, (after) => staleUploads(this.pool, olderThan, s.batchSize, after?.uploadId ?? ''), async (page) => {
        for (const candidate of page) {
          try {
            // An upload completed or aborted meanwhile is left alone.
            if (await this.multipart.abort(candidate, 'stale', cause)) report.aborted++;
          } catch (err) {
            report.failed++;
            this.logger.warn({ err, uploadId: candidate.uploadId, backend: candidate.backend }, 'could not abort a stale multipart upload');
          }
        }
      });
      if (report.aborted + report.failed > 0) this.logger.info({ ...report }, 'stale multipart uploads aborted');
      return report;
    });
  }
}
