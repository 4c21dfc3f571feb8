import { DomainError } from '../../domain/errors.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore, NewEvent } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadCleanupItem, type CleanupItemRow } from '../../projections/read/cleanup-reads.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { cleanupStreamId, closingEventId } from './reclaimer.js';

/**
 * Operator commands on cleanup items. Each append is conditional on the item's stream revision,
 * so a command never crosses a worker that closed or retried the item meanwhile.
 */
export class CleanupAdmin {
  constructor(
    private readonly store: EventStore,
    private readonly db: Queryable,
    private readonly events: EventFactory,
    private readonly kickCleanup: () => void,
  ) {}

  /** Back to pending with its attempts reset, due now (also for an exhausted item). */
  async retry(id: string, cause: Cause): Promise<CleanupItemRow> {
    const item = await this.require(id);
    await this.append(id, (nowIso) => this.events.event('CleanupRetried', { nextRetryAt: nowIso }, cause));
    this.kickCleanup();
    return item;
  }

  /** Stops tracking the item: its bytes stay on the backend and are no longer reserved. */
  async dismiss(id: string, cause: Cause): Promise<CleanupItemRow> {
    const item = await this.require(id);
    await this.append(id, () => this.events.event('CleanupDismissed', {
      reason: `dismissed by ${cause.actor}`, backend: item.backend, size: item.size,
    }, cause, { id: closingEventId(id) }));
    return item;
  }

  private async require(id: string): Promise<CleanupItemRow> {
    const item = await loadCleanupItem(this.db, id);
    if (!item) throw new DomainError('NotFound', `no cleanup item ${id} (already cleaned up or dismissed?)`);
    return item;
  }

  private async append(id: string, build: (nowIso: string) => NewEvent): Promise<void> {
    const stream = await this.store.readStream(cleanupStreamId(id), { maxCount: 0 });
    try {
      await this.store.appendToStream(cleanupStreamId(id), [build(this.events.now().toISOString())], { expected: stream.revision });
    } catch (err) {
      if (err instanceof ConcurrencyError) throw new DomainError('Conflict', `cleanup item ${id} changed meanwhile; look again and retry`);
      throw err;
    }
  }
}
