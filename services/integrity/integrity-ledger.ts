import type { EventData } from '../../domain/events/catalog.js';
import type { IntegrityComponent } from '../../domain/events/integrity-events.js';
import type { StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore, NewEvent } from '../../domain/eventstore/port.js';
import { objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { CopyCheck } from './copy-check.js';

const maxAttempts = 10;

/**
 * Records what a check found about a copy on the object's stream, conditional on the object's
 * revision: when the object changed meanwhile the record is retried only if the same copy of
 * the same version is still there (a client overwrite or a move makes the finding moot).
 */
export class IntegrityLedger {
  constructor(
    private readonly store: EventStore,
    private readonly db: Queryable,
    private readonly events: EventFactory,
  ) {}

  load(bucket: string, key: string): Promise<ObjectState> {
    return loadObject(this.db, bucket, key);
  }

  /** True when recorded; false when the copy is no longer the current version's. */
  async record(state: ObjectState, copy: StoredCopy, component: IntegrityComponent, check: Exclude<CopyCheck, { kind: 'unreadable' }>, cause: Cause): Promise<boolean> {
    const writeId = state.current?.writeId;
    if (!writeId) return false;
    const ref = { bucket: state.bucket, key: state.key, writeId, backend: copy.backend, storageKey: copy.storageKey };
    const event = (): NewEvent => {
      if (check.kind === 'intact') return this.events.event('CopyVerified', { ...ref, component }, cause);
      const data: EventData<'CopyCorrupted'> = { ...ref, component, expectedSha256: check.mismatch.expectedSha256, actualSha256: check.mismatch.actualSha256 };
      if ('partNumber' in check.mismatch && check.mismatch.partNumber !== undefined) data.partNumber = check.mismatch.partNumber;
      return this.events.event('CopyCorrupted', data, cause);
    };
    return this.appendWhileCurrent(state, copy, event);
  }

  /** Appends `event()` expecting the state's revision, re-reading while the copy is still current. */
  async appendWhileCurrent(initial: ObjectState, copy: StoredCopy, event: () => NewEvent): Promise<boolean> {
    let state = initial;
    const writeId = initial.current?.writeId;
    for (let attempt = 1; ; attempt++) {
      const current = state.current;
      if (!current || current.writeId !== writeId || !current.copies.some((c) => c.backend === copy.backend && c.storageKey === copy.storageKey)) return false;
      try {
        await this.store.appendToStream(objectStreamId(state.bucket, state.key), [event()], { expected: state.revision });
        return true;
      } catch (err) {
        if (err instanceof InvariantViolationError) return false;
        if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
        state = await this.load(state.bucket, state.key);
      }
    }
  }
}
