import type pg from 'pg';
import type { EventStore } from '../domain/eventstore/port.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { BackendDirectory } from '../services/backends/backend-directory.js';
import { cleanupStreamId, closingEventId } from '../services/cleanup/reclaimer.js';
import { deterministicEventId, type EventFactory } from '../services/event-factory.js';
import type { Leases } from './leases.js';

export interface CleanupSettings {
  concurrency: number;
  maxAttempts: number;
  batchSize: number;
}

interface DueItem {
  id: string;
  backend: string;
  storage_key: string;
  size: string;
  kind: string;
  backend_upload_id: string | null;
  attempts: number;
}

const minute = 60_000;
const day = 24 * 60 * minute;

/** Delay before the retry after the `attempt`-th failure: 1 min, 2, 4, … capped at 24 h. */
export function retryDelayMs(attempt: number): number {
  return Math.min(day, minute * 2 ** Math.max(0, attempt - 1));
}

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
        `SELECT id, backend, storage_key, size, kind, backend_upload_id, attempts FROM cleanup_queue
          WHERE state = 'pending' AND next_retry_at <= now() ORDER BY next_retry_at LIMIT $1`,
        [s.batchSize],
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
    const attempt = item.attempts + 1;
    let error: string | undefined;
    try {
      if (item.kind === 'multipart' && item.backend_upload_id) {
        const r = await backend.client.abortMultipartUpload(item.storage_key, item.backend_upload_id);
        if (!r.confirmed && r.status !== 404) error = `backend did not confirm the abort (HTTP ${r.status})`;
      } else {
        await backend.client.deleteObject(item.storage_key);
      }
    } catch (err) {
      error = (err as Error).message;
    }
    if (error === undefined) {
      await this.store.appendToStream(cleanupStreamId(item.id), [
        this.events.event('CleanupSucceeded', { attempt, backend: item.backend, size }, cause, { id: closingEventId(item.id) }),
      ], { expected: 'any' });
      this.backends.noteUsage(item.backend, { orphan: -size });
      report.succeeded++;
      this.onProcessed?.('succeeded');
      return;
    }
    const id = deterministicEventId(`cleanup:${item.id}:attempt:${attempt}`);
    if (attempt >= s.maxAttempts) {
      await this.store.appendToStream(cleanupStreamId(item.id), [this.events.event('CleanupExhausted', { attempt, error }, cause, { id })], { expected: 'any' });
      this.logger.warn({ cleanupId: item.id, backend: item.backend, attempt }, 'cleanup item exhausted; its bytes stay reserved');
      report.exhausted++;
      this.onProcessed?.('exhausted');
    } else {
      const nextRetryAt = new Date(this.events.now().getTime() + retryDelayMs(attempt)).toISOString();
      await this.store.appendToStream(cleanupStreamId(item.id), [this.events.event('CleanupFailed', { attempt, nextRetryAt, error }, cause, { id })], { expected: 'any' });
      report.failed++;
      this.onProcessed?.('failed');
    }
  }
}
