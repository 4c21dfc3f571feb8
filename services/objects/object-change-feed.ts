import type { ObjectChange } from '../../domain/objects/object-changes.js';

/** Something that keeps object state in memory and must forget what changed. */
export interface ObjectChangeListener {
  /** Objects changed by commits, on this instance or on another one on the same database. */
  changed(changes: readonly ObjectChange[]): void;
  /**
   * Changes may have been missed: the connection that hears other instances was lost (and is
   * back), or an older build announced appends without naming them.
   */
  unknown(): void;
}

/**
 * Tells the in-memory caches of object state which keys changed: fed after this instance's
 * appends commit (the event store's `onAppended`) and by other instances' notices
 * (`AppendWakeups`). A notice from another instance arrives after its commit, so it only
 * shortens how long an entry outlives its key's change: a cache that must never answer with an
 * old version also checks the version it holds against the one the database has.
 */
export class ObjectChangeFeed {
  private readonly listeners: ObjectChangeListener[] = [];

  subscribe(listener: ObjectChangeListener): void {
    this.listeners.push(listener);
  }

  publish(changes: readonly ObjectChange[]): void {
    if (changes.length === 0) return;
    for (const l of this.listeners) l.changed(changes);
  }

  publishUnknown(): void {
    for (const l of this.listeners) l.unknown();
  }
}
