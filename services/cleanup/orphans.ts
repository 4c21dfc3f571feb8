import { isFailedWrite } from '../../domain/cleanup/cleanup-attempt.js';
import { newUlid } from '../../infra/ids.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { cleanupStreamId, type OrphanItem, type Reclaimer } from './reclaimer.js';

/**
 * Records bytes that reached a backend but no committed version points to (a failed commit,
 * a failed or abandoned upload), so they are reserved against the quota and cleaned up.
 * If even that append fails (database down), the bytes stay untracked until reconcile finds
 * them by their versioned storage key; the error is logged with the key.
 * The bytes of a write given up on (a failed or aborted PUT) are not deleted at once: the backend
 * may still store them after that delete, so the cleanup worker deletes them after
 * `cleanup_queue.failed_write_grace` (domain/cleanup/cleanup-attempt.ts).
 */
export class OrphanRecorder {
  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly reclaimer: Reclaimer,
    private readonly logger: Logger,
  ) {}

  async record(backend: string, storageKey: string, size: number, reason: string, cause: Cause, opts: { reclaimNow?: boolean } = {}): Promise<OrphanItem | undefined> {
    const cleanupId = newUlid();
    try {
      await this.store.appendToStream(
        cleanupStreamId(cleanupId),
        [this.events.event('OrphanRecorded', { backend, storageKey, size, reason, kind: 'object' }, cause)],
        { expected: 'no_stream' },
      );
    } catch (err) {
      this.logger.error({ err, backend, storageKey, reason }, 'could not record orphaned bytes; reconcile will find them');
      return undefined;
    }
    const item = { cleanupId, backend, storageKey, size };
    if (opts.reclaimNow ?? !isFailedWrite(reason)) this.reclaimer.reclaimSoon([item], cause);
    return item;
  }

  async recordMultipart(backend: string, storageKey: string, backendUploadId: string, size: number, reason: string, cause: Cause): Promise<void> {
    const cleanupId = newUlid();
    try {
      await this.store.appendToStream(
        cleanupStreamId(cleanupId),
        [this.events.event('OrphanRecorded', { backend, storageKey, size, reason, kind: 'multipart', backendUploadId }, cause)],
        { expected: 'no_stream' },
      );
    } catch (err) {
      this.logger.error({ err, backend, storageKey, reason }, 'could not record an orphaned multipart upload');
    }
  }
}
