import { newUlid } from '../../infra/ids.js';
import type { OrphanedCopy } from '../../domain/events/common.js';
import type { AppendResult, EventStore } from '../../domain/eventstore/port.js';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { decideObject, type IdSource, type ObjectCommand, type WriteObjectCommand, type WritePrecondition } from '../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { handleCommand, type Appender, type Handled, type OtherStreamAppend } from '../commands/handle-command.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { ObjectLoadBatcher } from './object-load-batcher.js';
import type { ObjectStateCache } from './object-state-cache.js';

export type { WritePrecondition } from '../../domain/objects/object-decider.js';

export const cleanupIds: IdSource = { cleanupId: () => newUlid() };
/** Same-key writers race on the stream revision; the loser re-reads and decides again. */
const maxAttempts = 200;

export interface WriteOutcome {
  previous: ObjectState;
  result: AppendResult;
  displaced: OrphanedCopy[];
}

export interface ChangeOptions {
  /** A state already loaded (e.g. while a body was uploading): the first attempt decides on it. */
  initial?: ObjectState | Promise<ObjectState>;
  /** Where the decision is appended when not straight to the store (a job's step in the same transaction). */
  via?: Appender;
  /** Other streams' events, appended first in the same transaction (e.g. the end of a multipart upload). */
  others?: (state: ObjectState) => readonly OtherStreamAppend[];
  maxAttempts?: number;
}

const displacedBy = (events: readonly DomainEvent[]): OrphanedCopy[] =>
  events.flatMap((e) => (e.type === 'ObjectWritten' || e.type === 'ObjectDeleted' ? e.data.displaced : []));

/**
 * Changes objects the event-sourced way, through the object decider and the one command
 * handler: the state is the object's row in the inline projection, read with its stream
 * revision in one primary-key query (a snapshot of the stream's fold, see `loadObject`); the
 * decided events are appended expecting that revision, and on a concurrent change the command
 * is decided again on a fresh load. Bytes already uploaded are not touched, so a retry costs
 * two round trips.
 */
export class ObjectCommands {
  private readonly batchedLoads: ObjectLoadBatcher;

  constructor(
    private readonly store: EventStore,
    private readonly db: Queryable,
    private readonly events: EventFactory,
    /** Set when this process is the only writer to its database: loads are answered from memory. */
    private readonly cache?: ObjectStateCache,
  ) {
    this.batchedLoads = new ObjectLoadBatcher(db);
  }

  /** The key's committed state (current version and stream revision). */
  load(bucket: string, key: string): Promise<ObjectState> {
    return this.cache ? this.cache.load(bucket, key, () => loadObject(this.db, bucket, key)) : loadObject(this.db, bucket, key);
  }

  /** `load`, read from the database together with the other keys asked for in this event-loop turn (a job's burst of moves). */
  loadBatched(bucket: string, key: string): Promise<ObjectState> {
    const fromDatabase = (): Promise<ObjectState> => this.batchedLoads.load(bucket, key);
    return this.cache ? this.cache.load(bucket, key, fromDatabase) : fromDatabase();
  }

  /**
   * The state `load` would answer from memory right now (single writer), else undefined: never
   * asks the database. Lets a read skip the promises of a load when the state is at hand.
   */
  peek(bucket: string, key: string): ObjectState | undefined {
    return this.cache?.peek(bucket, key);
  }

  /**
   * The state a write decides on first. With a single writer, a key the cache does not hold is
   * presumed absent instead of asked of the database (a PUT of a new key then makes no lookup):
   * the append expects no stream, so if the key does exist (evicted from the cache, deleted, or
   * imported by another process) the append is refused and the retry decides on the database's
   * state. Never for a read, nor for a write whose precondition must see the real state.
   */
  loadForWrite(bucket: string, key: string): Promise<ObjectState> {
    if (!this.cache) return this.load(bucket, key);
    return Promise.resolve(this.cache.peek(bucket, key) ?? initialObjectState(bucket, key));
  }

  /** The key's state from the database itself, bypassing and refreshing any cached state. */
  reload(bucket: string, key: string): Promise<ObjectState> {
    this.cache?.forget(bucket, key);
    return this.load(bucket, key);
  }

  /**
   * Decides `command` on the object and appends what it decided; nothing is appended when it
   * decides nothing. Several commands are decided in turn, each on the state the previous ones'
   * events lead to, and appended together.
   */
  change(bucket: string, key: string, command: ObjectCommand | readonly ObjectCommand[], cause: Cause, opts: ChangeOptions = {}): Promise<Handled<ObjectState, undefined>> {
    const commands: readonly ObjectCommand[] = Array.isArray(command) ? command : [command as ObjectCommand];
    return handleCommand(opts.via ?? this.store, this.events, {
      streamId: objectStreamId(bucket, key),
      load: () => this.load(bucket, key),
      decide: (state) => {
        const events: DomainEvent[] = [];
        let decidedOn = state;
        for (const c of commands) {
          const decided = decideObject(c, decidedOn);
          events.push(...decided);
          decidedOn = decided.reduce(evolveObject, decidedOn);
        }
        // Another stream's change goes with the object's only: nothing decided here, nothing appended there.
        const others = events.length > 0 ? opts.others?.(state) : undefined;
        return others ? { events, others, value: undefined } : { events, value: undefined };
      },
      cause,
      ...(opts.initial !== undefined ? { initial: opts.initial } : {}),
      maxAttempts: opts.maxAttempts ?? maxAttempts,
    });
  }

  /** Appends a new version; `others` go with it in the same transaction. */
  async write(
    bucket: string,
    key: string,
    version: WriteObjectCommand,
    cause: Cause,
    opts: ChangeOptions & { precondition?: WritePrecondition } = {},
  ): Promise<WriteOutcome> {
    const { precondition, ...options } = opts;
    const command: ObjectCommand = { type: 'Write', version, ids: cleanupIds, ...(precondition ? { precondition } : {}) };
    const handled = await this.change(bucket, key, command, cause, options);
    if (!handled.appended) throw new Error('a write decided no version');
    return { previous: handled.state, result: handled.appended, displaced: displacedBy(handled.events) };
  }

  /**
   * Deletes the current version; returns its copies (now orphans), or undefined if absent.
   * With `expectedWriteId`, only that version is deleted (a newer one written meanwhile stays).
   */
  async delete(
    bucket: string, key: string, reason: 'client' | 'lifecycle' | 'purge', cause: Cause,
    opts: { expectedWriteId?: string; precondition?: WritePrecondition } = {},
  ): Promise<OrphanedCopy[] | undefined> {
    const handled = await this.change(bucket, key, { type: 'Delete', reason, ids: cleanupIds, ...opts }, cause);
    return handled.appended ? displacedBy(handled.events) : undefined;
  }
}
