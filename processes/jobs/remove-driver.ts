import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { sha256 } from '../../infra/ids.js';
import { decideBackend } from '../../domain/backends/backend-decider.js';
import { backendStreamId } from '../../domain/backends/backend-state.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { moveIdFor } from '../../domain/objects/placement-ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { backendHoldings, copiesOnBackend, type CopyRow } from '../../projections/read/job-reads.js';
import { uploadsOnBackend } from '../../projections/read/upload-reads.js';
import { loadBackend } from '../../services/backends/backend-lifecycle.js';
import { cleanupStreamId, closingEventId } from '../../services/cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import type { MultipartService } from '../../services/multipart/multipart-service.js';
import { cleanupIds, ObjectCommands } from '../../services/objects/object-commands.js';
import { handleCommand } from '../../services/commands/handle-command.js';
import { forEachConcurrently, jobBackend, type JobDriver } from './job-driver.js';
import type { JobStreamWriter } from './job-stream-writer.js';

/**
 * Removes a backend's records as a resumable job: every copy on it is dropped (the object is
 * deleted when that was its only copy). `remove` leaves the bytes on the backend (a later
 * `s3o sync` can import them again); `purge` queues them for deletion and finishes once the
 * cleanup worker has deleted them.
 */
export class RemoveDriver implements JobDriver {
  constructor(
    readonly kind: 'remove' | 'purge',
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly multipart: MultipartService,
    private readonly kickCleanup: () => void,
    private readonly logger: Logger,
  ) {
    this.objects = new ObjectCommands(store, pool, events);
  }

  private readonly objects: ObjectCommands;

  async run(job: JobStreamWriter, signal: AbortSignal): Promise<void> {
    const backend = jobBackend(job);
    const purge = this.kind === 'purge';
    while (!signal.aborted) {
      for (const upload of await uploadsOnBackend(this.pool, backend)) {
        if (purge) await this.multipart.abort(upload, 'backend-removed', job.cause);
        else await this.multipart.forget(upload, job.cause);
      }
      const batch = await copiesOnBackend(this.pool, backend, 200);
      if (batch.length === 0) {
        if (!purge) await this.dismissCleanup(backend, job.cause);
        const held = await backendHoldings(this.pool, backend);
        if (held.pendingCleanup > 0) {
          this.kickCleanup();
          await sleep(1000, undefined, { signal }).catch(() => undefined);
          continue;
        }
        await this.complete(job, backend, purge);
        this.logger.info({ backend, jobId: job.jobId, purge, exhaustedCleanup: held.exhaustedCleanup }, 'backend records removed');
        return;
      }
      await forEachConcurrently(batch, 8, (c) => this.dropCopy(job, backend, c, purge, job.cause));
    }
  }

  /** The job completes; a purge records the backend purged with it (unless it was reactivated meanwhile). */
  private async complete(job: JobStreamWriter, backend: string, purge: boolean): Promise<void> {
    if (purge) {
      const finished = await handleCommand(job.appenderFor({ type: 'Complete' }), this.events, {
        streamId: backendStreamId(backend),
        load: () => loadBackend(this.store, backend),
        decide: (b) => ({ events: decideBackend({ type: 'FinishPurge', jobId: job.jobId }, b), value: undefined }),
        cause: job.cause,
      });
      if (finished.appended) return;
    }
    await job.record({ type: 'Complete' });
  }

  /** The copy leaves the object's records (the object with it when it was the only one), with the job's step in one transaction. */
  private async dropCopy(writer: JobStreamWriter, backend: string, c: CopyRow, purge: boolean, cause: Cause): Promise<void> {
    const ref = { jobId: writer.jobId, moveId: moveIdFor(sha256, writer.jobId, c.bucket, c.key, c.writeId, backend), bucket: c.bucket, key: c.key, writeId: c.writeId };
    try {
      await this.objects.change(c.bucket, c.key, { type: 'RemoveBackendCopy', writeId: c.writeId, backend, purge, jobId: writer.jobId, ids: cleanupIds }, cause, {
        via: writer.appenderFor({ type: 'CompleteMove', move: ref, from: backend, to: null, bytes: c.size }),
        maxAttempts: 20,
      });
    } catch (err) {
      // The object kept changing: its copy is still on the backend, so the next batch finds it again.
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }

  /** Without purge the bytes stay where they are: their cleanup items are dismissed. */
  private async dismissCleanup(backend: string, cause: Cause): Promise<void> {
    const res = await this.pool.query<{ id: string; size: string }>('SELECT id, size FROM cleanup_queue WHERE backend = $1', [backend]);
    for (const r of res.rows) {
      await this.store.appendToStream(cleanupStreamId(r.id), [
        this.events.event('CleanupDismissed', { reason: 'backend removed', backend, size: Number(r.size) }, cause, { id: closingEventId(r.id) }),
      ], { expected: 'any' });
    }
  }
}
