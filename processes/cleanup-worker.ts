import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import type { BackendClient } from '../infra/backend/index.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import { decideCleanupAttempt, isFailedWrite, type CleanupAttemptResult } from '../domain/cleanup/cleanup-attempt.js';
import { cleanupStreamId, closingEventId } from '../services/cleanup/reclaimer.js';
import { cleanupDueAtSql } from '../projections/read/cleanup-reads.js';
import { deterministicEventId, type EventFactory } from '../services/event-factory.js';
import type { Leases } from './leases.js';

export interface CleanupSettings {
  concurrency: number;
  maxAttempts: number;
  batchSize: number;
  /** How long an orphan of a failed write waits before its first delete (cleanup_queue.failed_write_grace). */
  failedWriteGraceMs: number;
}

interface DueItem {
  id: string;
  backend: string;
  storage_key: string;
  size: string;
  kind: string;
  backend_upload_id: string | null;
  attempts: number;
  reason: string;
}

export { retryDelayMs } from '../domain/cleanup/cleanup-attempt.js';

export interface CleanupRunReport {
  succeeded: number;
  failed: number;
  exhausted: number;
  skipped: number;
}

/**
 * Works the cleanup queue (one instance at a time, by lease): deletes orphaned objects and
 * aborts orphaned multipart uploads whose retry time has come. A failure is retried with
 * exponential back-off; after `maxAttempts` the item is exhausted and its bytes stay reserved
 * until an operator retries or dismisses it. An item whose key is a live copy is never deleted.
 * An orphan of a failed write (the backend may still store it after we gave up on it) is deleted
 * only once `failedWriteGraceMs` has passed since it was recorded, and looked up after its delete:
 * a key still there is a failed attempt, retried with the same back-off.
 */
export class CleanupWorker {
  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly leases: Leases,
    private readonly settings: () => CleanupSettings,
    private readonly logger: Logger,
    private readonly onProcessed?: (outcome: 'succeeded' | 'failed' | 'exhausted') => void,
  ) {}

  async runOnce(): Promise<CleanupRunReport | undefined> {
    return this.leases.runExclusive('worker:cleanup', async () => {
      const s = this.settings();
      const report: CleanupRunReport = { succeeded: 0, failed: 0, exhausted: 0, skipped: 0 };
      const due = await this.pool.query<DueItem>(
        `SELECT id, backend, storage_key, size, kind, backend_upload_id, attempts, reason FROM cleanup_queue
          WHERE state = 'pending' AND next_retry_at <= now() AND ${cleanupDueAtSql('$2::bigint')} <= now()
          ORDER BY next_retry_at LIMIT $1`,
        [s.batchSize, s.failedWriteGraceMs],
      );
      const queue = [...due.rows];
      await Promise.all(Array.from({ length: Math.min(s.concurrency, queue.length) }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) await this.process(item, s, report);
      }));
      return report;
    });
  }

  private async process(item: DueItem, s: CleanupSettings, report: CleanupRunReport): Promise<void> {
    const backend = this.backends.get(item.backend);
    const cause = { actor: 'system:cleanup', correlationId: `cleanup-${item.id}` };
    const size = Number(item.size);
    if (!backend) {
      report.skipped++;
      return;
    }
    const live = await this.pool.query('SELECT 1 FROM object_copies WHERE backend = $1 AND storage_key = $2 LIMIT 1', [item.backend, item.storage_key]);
    if (live.rowCount) {
      await this.store.appendToStream(cleanupStreamId(item.id), [
        this.events.event('CleanupDismissed', { reason: 'the key is a live copy', backend: item.backend, size }, cause, { id: closingEventId(item.id) }),
      ], { expected: 'any' });
      report.skipped++;
      return;
    }
    const result = await this.attempt(backend.client, item);
    const decided = decideCleanupAttempt({ backend: item.backend, size, attempts: item.attempts }, result, {
      maxAttempts: s.maxAttempts, timeIn: (ms) => new Date(this.events.now().getTime() + ms).toISOString(),
    });
    const id = decided.type === 'CleanupSucceeded' ? closingEventId(item.id) : deterministicEventId(`cleanup:${item.id}:attempt:${decided.data.attempt}`);
    await this.store.appendToStream(cleanupStreamId(item.id), [this.events.record(decided, cause, { id })], { expected: 'any' });
    if (decided.type === 'CleanupSucceeded') {
      this.backends.noteUsage(item.backend, { orphan: -size });
      report.succeeded++;
      this.onProcessed?.('succeeded');
    } else if (decided.type === 'CleanupExhausted') {
      this.logger.warn({ cleanupId: item.id, backend: item.backend, attempt: decided.data.attempt }, 'cleanup item exhausted; its bytes stay reserved');
      report.exhausted++;
      this.onProcessed?.('exhausted');
    } else {
      if (result.kind === 'still-there') this.logger.warn({ cleanupId: item.id, backend: item.backend, attempt: decided.data.attempt }, 'a failed write\'s key was still there after its delete; retried');
      report.failed++;
      this.onProcessed?.('failed');
    }
  }

  private async attempt(client: BackendClient, item: DueItem): Promise<CleanupAttemptResult> {
    try {
      if (item.kind === 'multipart' && item.backend_upload_id) {
        const r = await client.abortMultipartUpload(item.storage_key, item.backend_upload_id);
        if (!r.confirmed && r.status !== 404) return { kind: 'failed', error: `backend did not confirm the abort (HTTP ${r.status})` };
        return { kind: 'removed' };
      }
      await client.deleteObject(item.storage_key);
      if (isFailedWrite(item.reason) && await client.headObject(item.storage_key) !== undefined) return { kind: 'still-there' };
      return { kind: 'removed' };
    } catch (err) {
      return { kind: 'failed', error: (err as Error).message };
    }
  }
}
