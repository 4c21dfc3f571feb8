import { newUlid } from '../../infra/ids.js';
import type { OrphanedCopy } from '../../domain/events/common.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { objectStreamId } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { CopyHealth } from './copy-health.js';

const maxAttempts = 10;

/**
 * Removes the copies an object has beyond the replication factor: the copies on a draining
 * backend go first, then those on a backend whose circuit breaker is not closed, then those on
 * the most utilised backends. The drop is a ReplicaDropped (reason over-replication) appended
 * with the object's stream revision as the expected one, so it is decided on what is current;
 * the bytes are queued for cleanup in the same transaction and deleted right after.
 */
export class ExcessCopies {
  constructor(
    private readonly db: Queryable,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly reclaimer: Reclaimer,
    private readonly health: CopyHealth,
  ) {}

  /** Drops the excess copies of one object; returns how many were dropped. */
  async trim(bucket: string, key: string, factor: number, cause: Cause): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const state = await loadObject(this.db, bucket, key);
      const version = state.current;
      if (!version) return 0;
      const counted = this.health.countedCopies(version.copies);
      const drop: OrphanedCopy[] = this.health.chooseToDrop(counted, counted.length - factor).map((c) => ({ ...c, cleanupId: newUlid() }));
      if (drop.length === 0) return 0;
      try {
        await this.store.appendToStream(
          objectStreamId(bucket, key),
          drop.map((copy) => this.events.event('ReplicaDropped', { bucket, key, writeId: version.writeId, copy, reason: 'over-replication', reclaim: true }, cause)),
          { expected: state.revision },
        );
      } catch (err) {
        if (err instanceof ConcurrencyError && attempt < maxAttempts) continue;
        throw err;
      }
      for (const c of drop) this.backends.noteUsage(c.backend, { used: -c.size, orphan: c.size, count: -1 });
      this.reclaimer.reclaimSoon(drop, cause);
      return drop.length;
    }
  }
}
