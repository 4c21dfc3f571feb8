import type { DomainEvent } from '../../domain/events/catalog.js';
import type { RecordedEvent } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { eventTypeOf, type ProjectionDefinition } from '../projection.js';

export interface DecodedEvent {
  recorded: RecordedEvent;
  event: DomainEvent;
}

/**
 * A projection kept up to date by the projection runner. `applyBatch` runs inside the
 * runner's transaction together with the checkpoint update; it must reference its tables
 * unqualified (rebuilds point search_path at shadow tables) and write only functions of the
 * events (no now(), no sequences), so a rebuild reproduces the live tables exactly. It sees
 * events decoded (upcast) to the catalogue's current versions.
 */
export interface AsyncProjection extends ProjectionDefinition {
  kind: 'async';
  /** The types of `handles`: what the runner reads for it. */
  eventTypes: readonly string[];
  applyBatch(db: Queryable, events: readonly DecodedEvent[]): Promise<void>;
}

export function defineAsyncProjection(def: Omit<AsyncProjection, 'kind' | 'eventTypes'>): AsyncProjection {
  return { ...def, kind: 'async', eventTypes: def.handles.map(eventTypeOf) };
}
