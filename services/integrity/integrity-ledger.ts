import type { DomainEvent } from '../../domain/events/catalog.js';
import type { IntegrityComponent } from '../../domain/events/integrity-events.js';
import type { StoredCopy } from '../../domain/events/common.js';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { CorruptFinding, ObjectCommand } from '../../domain/objects/object-decider.js';
import type { ObjectState } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { copyOwner } from '../../projections/read/integrity-reads.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { ObjectCommands } from '../objects/object-commands.js';
import type { CopyCheck } from './copy-check.js';

const maxAttempts = 10;

/**
 * Records what integrity found and did about a copy on the object's stream, through the object
 * decider (RecordCheck, RepairCopy, BackfillChecksum) and the one command handler: appended
 * expecting the revision it was decided on, and decided again on a concurrent change; the
 * decider decides nothing when the copy is no longer the current version's (a client overwrite
 * or a move makes the finding moot).
 */
export class IntegrityLedger {
  private readonly objects: ObjectCommands;

  constructor(store: EventStore, private readonly db: Queryable, events: EventFactory) {
    this.objects = new ObjectCommands(store, db, events);
  }

  /** The object a copy of version `writeId` belongs to (a reader knows the version and the copy, not the key). */
  locate(writeId: string, copy: StoredCopy): Promise<{ bucket: string; key: string } | undefined> {
    return copyOwner(this.db, copy.backend, copy.storageKey, writeId);
  }

  load(bucket: string, key: string): Promise<ObjectState> {
    return this.objects.load(bucket, key);
  }

  /** True when recorded; false when the copy is no longer the current version's. */
  async record(state: ObjectState, copy: StoredCopy, component: IntegrityComponent, check: Exclude<CopyCheck, { kind: 'unreadable' }>, cause: Cause): Promise<boolean> {
    const writeId = state.current?.writeId;
    if (!writeId) return false;
    const command: Extract<ObjectCommand, { type: 'RecordCheck' }> = { type: 'RecordCheck', writeId, copy: { backend: copy.backend, storageKey: copy.storageKey }, component };
    if (check.kind === 'corrupt') {
      const corrupt: CorruptFinding = { reason: check.reason, expectedSha256: check.mismatch.expectedSha256, actualSha256: check.mismatch.actualSha256 };
      if ('partNumber' in check.mismatch && check.mismatch.partNumber !== undefined) corrupt.partNumber = check.mismatch.partNumber;
      command.corrupt = corrupt;
    }
    return (await this.change(state, command, cause)).length > 0;
  }

  /**
   * Decides `command` (several: in turn, appended together) on the object, starting from
   * `state`; returns the events appended, none when the change is moot. `attempts`: how many
   * times a concurrent change is decided again (1: a conflict is thrown).
   */
  async change(state: ObjectState, command: ObjectCommand | readonly ObjectCommand[], cause: Cause, attempts = maxAttempts): Promise<readonly DomainEvent[]> {
    try {
      const handled = await this.objects.change(state.bucket, state.key, command, cause, { initial: state, maxAttempts: attempts });
      return handled.appended ? handled.events : [];
    } catch (err) {
      if (err instanceof InvariantViolationError) return [];
      throw err;
    }
  }
}
