import { setTimeout as sleep } from 'node:timers/promises';
import type { EventStore } from '../../domain/eventstore/port.js';
import { AppendBatcher } from '../commands/append-batcher.js';
import { BackendHttpError, isBackendError } from '../../infra/backend/index.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import { deterministicEventId, type Cause, type EventFactory } from '../event-factory.js';

export interface OrphanItem {
  cleanupId: string;
  backend: string;
  storageKey: string;
  size: number;
}

export const cleanupStreamId = (id: string): string => `cleanup-${id}`;
/** Succeeded and dismissed share one id: whichever is recorded first closes the item, once. */
export const closingEventId = (id: string): string => deterministicEventId(`cleanup:${id}:closed`);

/** Deletes in flight at once, so a bulk delete does not open a thousand connections to a backend. */
const maxConcurrentDeletes = 16;
/**
 * Waits before retrying a delete the backend failed with a 5xx (some backends race on concurrent
 * deletes of sibling keys and answer 500); what still fails goes to the cleanup worker.
 */
const retryDelaysMs = [100, 400];

const retryable = (err: unknown): boolean => err instanceof BackendHttpError && err.status >= 500;

/**
 * Deletes orphaned bytes right after the change that orphaned them committed. What fails here
 * stays in the cleanup queue for the cleanup worker, which retries with back-off.
 */
export class Reclaimer {
  private inFlight = new Set<Promise<void>>();
  /** The deletes' CleanupSucceeded events, those done while one append commits going together in the next. */
  private readonly closings: AppendBatcher;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly logger: Logger,
  ) {
    this.closings = new AppendBatcher(store);
  }

  /** Starts reclaiming in the background; `drain()` waits for what is in flight. */
  reclaimSoon(items: readonly OrphanItem[], cause: Cause): void {
    if (items.length === 0) return;
    const p = this.reclaim(items, cause).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  async reclaim(items: readonly OrphanItem[], cause: Cause): Promise<void> {
    await Promise.all(items.map((item) => this.reclaimOne(item, cause)));
  }

  /** Whether deletes started here are still running (their outcome not yet recorded). */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async reclaimOne(item: OrphanItem, cause: Cause): Promise<void> {
    const backend = this.backends.get(item.backend);
    if (!backend) return;
    try {
      // Only the delete holds a slot: the closing append waits for a commit, not for the backend,
      // and holding the slot through it bounded deletes to 16 per commit (a drain's reclaims fell behind its moves).
      await this.limited(async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            await backend.client.deleteObject(item.storageKey);
            return;
          } catch (err) {
            const delay = retryDelaysMs[attempt];
            if (delay === undefined || !retryable(err)) throw err;
            await sleep(delay);
          }
        }
      });
      await this.closings.record({
        streamId: cleanupStreamId(item.cleanupId),
        events: [this.events.event('CleanupSucceeded', { attempt: 1, backend: item.backend, size: item.size }, cause, { id: closingEventId(item.cleanupId) })],
        expected: 'any',
      });
      this.backends.noteUsage(item.backend, { orphan: -item.size });
    } catch (err) {
      const level = isBackendError(err) ? 'info' : 'warn';
      this.logger[level]({ err, backend: item.backend, cleanupId: item.cleanupId }, 'orphan left for the cleanup worker');
    }
  }

  private async limited(task: () => Promise<void>): Promise<void> {
    // A finishing task hands its slot straight to the next waiting one.
    if (this.running < maxConcurrentDeletes) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
