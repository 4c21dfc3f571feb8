import { DomainError } from '../errors.js';
import { eventCatalog, upcasters, type DomainEvent, type EventData, type EventType } from './catalog.js';
import { isWellFormedObjectWritten } from './well-formed.js';

/** Hand checks of the events appended per request: data they pass is what the schema would answer. */
const wellFormed: Partial<Record<EventType, (data: unknown) => boolean>> = { ObjectWritten: isWellFormedObjectWritten };

/** Validates event data against its current schema before it is appended. */
export function encodeEvent<T extends EventType>(type: T, data: EventData<T>): { type: T; schemaVersion: number; data: EventData<T> } {
  const entry = eventCatalog[type];
  if (wellFormed[type]?.(data) === true) return { type, schemaVersion: entry.version, data };
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    throw new DomainError('InternalError', `event ${type} does not match its schema: ${parsed.error.message}`);
  }
  return { type, schemaVersion: entry.version, data: parsed.data as EventData<T> };
}

type Upcasters = Readonly<Record<string, (data: Record<string, unknown>) => Record<string, unknown>>>;
interface CatalogEntry {
  version: number;
  schema: { safeParse(data: unknown): { success: true; data: unknown } | { success: false; error: { message: string } } };
}

/**
 * A decoder over a catalog: upcasts stored data to the current schema version, one version at a
 * time (`<type>@<v>` lifts v to v+1), and validates what it upcast. Data already at the current
 * version was validated when it was appended and is returned as is (replays read millions of
 * events). Unknown types decode to undefined; a version newer than the catalog's is an error.
 */
export function createDecoder<E>(catalog: Readonly<Record<string, CatalogEntry>>, ups: Upcasters) {
  return (type: string, schemaVersion: number, data: unknown): E | undefined => {
    if (!Object.hasOwn(catalog, type)) return undefined;
    const entry = catalog[type] as CatalogEntry;
    if (schemaVersion === entry.version) return { type, data } as E;
    if (schemaVersion > entry.version) {
      throw new DomainError('InternalError', `event ${type} has schema version ${schemaVersion}, newer than this build knows (${entry.version})`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new DomainError('InternalError', `event ${type}@${schemaVersion} holds no object to upcast`);
    }
    let current = data as Record<string, unknown>;
    for (let v = schemaVersion; v < entry.version; v++) {
      const up = ups[`${type}@${v}`];
      if (!up) throw new DomainError('InternalError', `no upcaster for ${type}@${v}`);
      current = up(current);
    }
    const parsed = entry.schema.safeParse(current);
    if (!parsed.success) {
      throw new DomainError('InternalError', `event ${type}@${schemaVersion} does not upcast to its schema: ${parsed.error.message}`);
    }
    return { type, data: parsed.data } as E;
  };
}

export const decodeEvent = createDecoder<DomainEvent>(eventCatalog, upcasters);
