import type { DomainEvent } from '../../domain/events/catalog.js';
import type { RecordedEvent } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

export interface DecodedEvent {
  recorded: RecordedEvent;
  event: DomainEvent;
}

/**
 * A projection kept up to date by the projection runner. `applyBatch` runs inside the
 * runner's transaction together with the checkpoint update; it must reference its tables
 * unqualified (rebuilds point search_path at shadow tables) and write only functions of the
 * events (no now(), no sequences), so a rebuild reproduces the live tables exactly.
 */
export interface AsyncProjection {
  name: string;
  tables: readonly string[];
  eventTypes: readonly string[];
  applyBatch(db: Queryable, events: readonly DecodedEvent[]): Promise<void>;
}
