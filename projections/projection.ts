import type { EventType } from '../domain/events/catalog.js';

/** One event type at one schema version: `ObjectWritten@1`. */
export type EventVersion = `${EventType}@${number}`;

/**
 * What every projection declares about itself. Its home is a folder holding its SQL: `NNN_*.sql`
 * files create and change its tables (versioned migrations, NNN the schema version), any other
 * `.sql` file defines its functions (applied again whenever it changes).
 *
 * A projection owns its tables: nothing else writes them, it reads nothing else, and it refers
 * to them unqualified (a rebuild points search_path at shadow copies). Every catalogue event is
 * either handled or ignored, at the catalogue's current version: an older stored version is
 * upcast before any projection sees it, and a version nobody knows is refused at append.
 */
export interface ProjectionDefinition {
  name: string;
  home: URL;
  tables: readonly string[];
  handles: readonly EventVersion[];
  ignores: readonly EventVersion[];
}

export function eventTypeOf(v: EventVersion): EventType {
  return v.slice(0, v.lastIndexOf('@')) as EventType;
}

export function versionOf(v: EventVersion): number {
  return Number(v.slice(v.lastIndexOf('@') + 1));
}
