import type { OrphanedCopy } from '../../domain/events/common.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { cleanupIds, ObjectCommands } from '../objects/object-commands.js';
import type { CopyHealth } from './copy-health.js';

const maxAttempts = 10;

/**
 * Removes the copies an object has beyond the replication factor: the copies on a draining
 * backend go first, then those on a backend whose circuit breaker is not closed, then those on
 * the most utilised backends. The chosen copies are dropped by the object decider's DropReplicas
 * (ReplicaDropped, reason over-replication) through the one command handler, appended expecting
 * the revision they were chosen on: a concurrent change makes them be chosen again on what is
 * current. The bytes are queued for cleanup in the same transaction and deleted right after.
 */
export class ExcessCopies {
  private readonly objects: ObjectCommands;

  constructor(
    db: Queryable,
    store: EventStore,
    events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly reclaimer: Reclaimer,
    private readonly health: CopyHealth,
  ) {
    this.objects = new ObjectCommands(store, db, events);
  }

  /** Drops the excess copies of one object; returns how many were dropped. */
  async trim(bucket: string, key: string, factor: number, cause: Cause): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.objects.load(bucket, key);
      const version = state.current;
      if (!version) return 0;
      const counted = this.health.countedCopies(version.copies);
      const chosen = this.health.chooseToDrop(counted, counted.length - factor);
      if (chosen.length === 0) return 0;
      let drop: OrphanedCopy[];
      try {
        // Which copies to drop depends on the backends' health and use now, so it is chosen again after a conflict.
        const handled = await this.objects.change(bucket, key, {
          type: 'DropReplicas', writeId: version.writeId, copies: chosen, reason: 'over-replication', reclaim: true, ids: cleanupIds,
        }, cause, { initial: state, maxAttempts: 1 });
        drop = handled.events.flatMap((e) => (e.type === 'ReplicaDropped' ? [e.data.copy] : []));
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
