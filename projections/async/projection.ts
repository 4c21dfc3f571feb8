import type { DomainEvent } from '../../domain/events/catalog.js';
import { decodeEvent } from '../../domain/events/codec.js';
import type { RecordedEvent } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { eventTypeOf, type ProjectionDefinition } from '../projection.js';

export interface DecodedEvent {
  recorded: RecordedEvent;
  event: DomainEvent;
}

/** Events as read from the log, decoded (upcast) for the handlers; types no build knows are left out. */
export function decodeAll(events: readonly RecordedEvent[]): DecodedEvent[] {
  const out: DecodedEvent[] = [];
  for (const recorded of events) {
    const event = decodeEvent(recorded.type, recorded.schemaVersion, recorded.data);
    if (event) out.push({ recorded, event });
  }
  return out;
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
