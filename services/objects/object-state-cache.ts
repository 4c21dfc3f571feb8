import { LRUCache } from 'lru-cache';
import type { AppendResult, NewEvent, StreamAppend } from '../../domain/eventstore/port.js';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';

/**
 * The committed state (current version, copies, stream revision) of recently used keys, so a GET
 * or a PUT's decision needs no PostgreSQL round trip. Used only when this process is the only
 * writer to its database (`database.single_writer`, or the embedded database, which one
 * orchestrator owns): then every append passes through this process, and `appended` brings the
 * entry up to date (folding the committed events with `evolveObject`, the same fold the
 * `objects` row is) before the append's caller is answered. So a state served from here is never
 * older than one a client was told was committed.
 *
 * What it cannot be sure of, it forgets: an append that failed (its outcome may be unknown, or
 * it lost a race), an append that did not follow the cached revision, a retried append.
 * Only keys with a current version are kept: "no such key" is always asked of the database, so
 * an object imported by `s3o sync` from another process is never hidden. A state a decision
 * was made on that another process did change fails that append's revision check, which
 * forgets the entry, and the retry loads from the database.
 */

const OBJECT_STREAM_PREFIX = 'object-';
/** Keys whose change is remembered for loads still in flight; beyond it every such load is discarded. */
const maxTrackedChanges = 10_000;

export class ObjectStateCache {
  private readonly entries: LRUCache<string, ObjectState>;
  /** Counts changes; a load keeps its result only if its key did not change since the load began. */
  private changes = 0;
  private readonly changedAt = new Map<string, number>();
  /** Loads that began before this change count are discarded (the change map was cleared). */
  private floor = 0;
  private loadsInFlight = 0;

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /** The cached state, else `fromDatabase()` (remembered when nothing changed the key meanwhile). */
  async load(bucket: string, key: string, fromDatabase: () => Promise<ObjectState>): Promise<ObjectState> {
    const id = objectStreamId(bucket, key);
    const cached = this.entries.get(id);
    if (cached) return cached;
    const began = this.changes;
    this.loadsInFlight++;
    try {
      const state = await fromDatabase();
      if (state.current && began >= this.floor && (this.changedAt.get(id) ?? -1) < began) this.entries.set(id, state);
      return state;
    } finally {
      if (--this.loadsInFlight === 0) this.changedAt.clear();
    }
  }

  /** The cached state of a key, or undefined: never asks the database. */
  peek(bucket: string, key: string): ObjectState | undefined {
    return this.entries.get(objectStreamId(bucket, key));
  }

  /** After a committed append: folds its object-stream events into the cached states. */
  appended(results: readonly AppendResult[], appends: readonly StreamAppend[]): void {
    appends.forEach((a, i) => {
      if (!a.streamId.startsWith(OBJECT_STREAM_PREFIX)) return;
      const result = results[i];
      const before = this.entries.get(a.streamId) ?? (result && result.nextRevision + 1n === BigInt(a.events.length) ? initialState(a.streamId) : undefined);
      this.changed(a.streamId);
      if (!result || result.alreadyAppended || !before || revisionOf(before) !== result.nextRevision - BigInt(a.events.length)) return;
      const after = a.events.map(asDomainEvent).reduce(evolveObject, before);
      if (after.current && after.revision === result.nextRevision) this.entries.set(a.streamId, after);
    });
  }

  /** After a failed append: its object streams are asked of the database next time. */
  failed(appends: readonly StreamAppend[]): void {
    for (const a of appends) if (a.streamId.startsWith(OBJECT_STREAM_PREFIX)) this.changed(a.streamId);
  }

  /** Forgets one key (a reader found its copies gone: the database has the truth). */
  forget(bucket: string, key: string): void {
    this.changed(objectStreamId(bucket, key));
  }

  private changed(id: string): void {
    this.entries.delete(id);
    this.changes++;
    if (this.loadsInFlight === 0) return;
    if (this.changedAt.size >= maxTrackedChanges) {
      this.changedAt.clear();
      this.floor = this.changes;
    }
    this.changedAt.set(id, this.changes);
  }
}

/** An event this process just encoded at its current schema version is the domain event it was made from. */
const asDomainEvent = (e: NewEvent): DomainEvent => ({ type: e.type, data: e.data }) as DomainEvent;

const revisionOf = (s: ObjectState): bigint => (s.revision === 'no_stream' ? -1n : s.revision);

/** The state before a stream's first event, from its id `object-<bucket>/<key>`. */
function initialState(streamId: string): ObjectState | undefined {
  const rest = streamId.slice(OBJECT_STREAM_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? undefined : initialObjectState(rest.slice(0, slash), rest.slice(slash + 1));
}
