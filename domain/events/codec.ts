import { DomainError } from '../errors.js';
import { eventCatalog, isKnownEventType, upcasters, type DomainEvent, type EventData, type EventType } from './catalog.js';

/** Validates event data against its current schema before it is appended. */
export function encodeEvent<T extends EventType>(type: T, data: EventData<T>): { type: T; schemaVersion: number; data: EventData<T> } {
  const entry = eventCatalog[type];
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    throw new DomainError('InternalError', `event ${type} does not match its schema: ${parsed.error.message}`);
  }
  return { type, schemaVersion: entry.version, data: parsed.data as EventData<T> };
}

/**
 * Upcasts stored data to the current schema version. Data already at the current version was
 * validated when it was appended and is returned as is (replays read millions of events);
 * upcast data is validated against the current schema.
 */
export function decodeEvent(type: string, schemaVersion: number, data: unknown): DomainEvent | undefined {
  if (!isKnownEventType(type)) return undefined;
  const entry = eventCatalog[type];
  if (schemaVersion === entry.version) return { type, data } as DomainEvent;
  let current = data as Record<string, unknown>;
  for (let v = schemaVersion; v < entry.version; v++) {
    const up = upcasters[`${type}@${v}`];
    if (!up) throw new DomainError('InternalError', `no upcaster for ${type}@${v}`);
    current = up(current);
  }
  if (schemaVersion > entry.version) {
    throw new DomainError('InternalError', `event ${type} has schema version ${schemaVersion}, newer than this build knows (${entry.version})`);
  }
  return { type, data: entry.schema.parse(current) } as DomainEvent;
}
