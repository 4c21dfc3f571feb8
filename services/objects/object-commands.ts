import { setTimeout as sleep } from 'node:timers/promises';
import { newUlid } from '../../infra/ids.js';
import type { OrphanedCopy } from '../../domain/events/common.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { AppendResult, EventStore, StreamAppend } from '../../domain/eventstore/port.js';
import { decideDelete, decideWrite, type IdSource, type WriteObjectCommand } from '../../domain/objects/object-decider.js';
import { objectStreamId, type ObjectState, type ObjectVersion } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { Cause, EventFactory } from '../event-factory.js';

const ids: IdSource = { cleanupId: () => newUlid() };
/** Same-key writers race on the stream revision; the loser re-reads and decides again. */
const maxAttempts = 200;

/** Throws (e.g. 412 PreconditionFailed) when a conditional write must not replace `current`. */
export type WritePrecondition = (current: ObjectVersion | undefined) => void;

export interface WriteOutcome {
  previous: ObjectState;
  result: AppendResult;
  displaced: OrphanedCopy[];
}

/**
 * Changes objects the event-sourced way: load the current state (with its stream revision),
 * decide, append with that revision as the expected one. On a concurrent change it starts
 * over; bytes already uploaded are not touched, so a retry costs two round trips.
 */
export class ObjectCommands {
  constructor(
    private readonly store: EventStore,
    private readonly db: Queryable,
    private readonly events: EventFactory,
  ) {}

  load(bucket: string, key: string): Promise<ObjectState> {
    return loadObject(this.db, bucket, key);
  }

  /**
   * Appends a new version. `extra` appends to other streams in the same transaction (e.g. the
   * upload stream of a completed multipart upload); they are placed first.
   */
  async write(
    bucket: string,
    key: string,
    cmd: WriteObjectCommand,
    cause: Cause,
    opts: { initial?: ObjectState; extra?: (state: ObjectState) => StreamAppend[]; precondition?: WritePrecondition } = {},
  ): Promise<WriteOutcome> {
    let state = opts.initial ?? (await this.load(bucket, key));
    for (let attempt = 1; ; attempt++) {
      // Checked against the state the append is conditional on, so a concurrent change is seen.
      opts.precondition?.(state.current);
      const decided = decideWrite(state, cmd, ids);
      const objectAppend: StreamAppend = {
        streamId: objectStreamId(bucket, key),
        events: [this.events.event(decided.type, decided.data, cause)],
        expected: state.revision,
      };
      try {
        const appends = [...(opts.extra?.(state) ?? []), objectAppend];
        const results = await this.store.appendToStreams(appends);
        const result = results[results.length - 1];
        if (!result) throw new Error('append returned no result');
        return { previous: state, result, displaced: decided.data.displaced };
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || err.streamId !== objectAppend.streamId || attempt >= maxAttempts) throw err;
        await sleep(Math.floor(Math.random() * Math.min(20, attempt)));
        state = await this.load(bucket, key);
      }
    }
  }

  /**
   * Deletes the current version; returns its copies (now orphans), or undefined if absent.
   * With `expectedWriteId`, only that version is deleted (a newer one written meanwhile stays).
   */
  async delete(
    bucket: string, key: string, reason: 'client' | 'lifecycle' | 'purge', cause: Cause,
    opts: { expectedWriteId?: string; precondition?: WritePrecondition } = {},
  ): Promise<OrphanedCopy[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.load(bucket, key);
      if (opts.expectedWriteId !== undefined && state.current?.writeId !== opts.expectedWriteId) return undefined;
      opts.precondition?.(state.current);
      const decided = decideDelete(state, reason, ids);
      if (!decided) return undefined;
      try {
        await this.store.appendToStream(objectStreamId(bucket, key), [this.events.event(decided.type, decided.data, cause)], {
          expected: state.revision,
        });
        return decided.data.displaced;
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
        await sleep(Math.floor(Math.random() * Math.min(20, attempt)));
      }
    }
  }
}
