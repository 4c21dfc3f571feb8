import type { StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { evolveObject, storedSizeOf, type ObjectState } from '../../domain/objects/object-state.js';
import { placementStorageKey } from '../../domain/objects/storage-keys.js';
import { newUlid } from '../../infra/ids.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { VersionCopier } from '../objects/copy-version.js';
import { ObjectCommands } from '../objects/object-commands.js';
import type { WritePlacement } from '../placement/write-placement.js';
import type { CopyHealth } from './copy-health.js';

export interface ReplicationResult {
  created: number;
  /** Why the object is still short of copies, when it is. */
  error?: string;
}

export interface ReplicatorHooks {
  /** Runs after a replica's bytes are on the target and before the replica is committed. */
  beforeCommit?: (replica: { bucket: string; key: string; writeId: string; copy: StoredCopy }) => Promise<void>;
}

type AddOutcome =
  | { kind: 'added'; state: ObjectState }
  | { kind: 'superseded' }
  | { kind: 'failed'; error: string };

const maxCommitAttempts = 10;

/**
 * Brings an object's current version to the replication factor: each missing copy goes to the
 * best eligible backend by the routing strategy (not already holding a copy), the bytes are
 * copied verbatim (ETag verified for plain objects), and a ReplicaAdded is appended with the
 * object's stream revision as the expected one. A replica is recorded only while the version it
 * copied is still current; otherwise its bytes are recorded as an orphan and cleaned up.
 */
export class Replicator {
  constructor(
    private readonly db: Queryable,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    /** How a replica's bytes are copied (verified with integrity.verify_on_replicate). */
    private readonly copy: VersionCopier,
    private readonly placement: WritePlacement,
    private readonly orphans: OrphanRecorder,
    private readonly health: CopyHealth,
    private readonly logger: Logger,
    private readonly hooks: ReplicatorHooks = {},
  ) {
    this.objects = new ObjectCommands(store, db, events);
  }

  private readonly objects: ObjectCommands;

  async replicate(bucket: string, key: string, factor: number, cause: Cause): Promise<ReplicationResult> {
    let state = await this.objects.load(bucket, key);
    const writeId = state.current?.writeId;
    let created = 0;
    let lastError: string | undefined;
    // A backend that failed to take a copy is not tried again for this object in this pass.
    const failed = new Set<string>();
    for (;;) {
      const version = state.current;
      // A newer version is replicated on its own (next pass); this one is history.
      if (!version || version.writeId !== writeId) return { created };
      if (this.health.countedCopies(version.copies).length >= factor) return { created };
      const exclude = new Set([...version.copies.map((c) => c.backend), ...failed]);
      const choice = this.placement.rank(storedSizeOf(version), exclude)[0];
      if (!choice) return { created, error: lastError ?? 'no eligible backend can take another copy' };
      const outcome = await this.addCopy(state, choice.name, factor, cause);
      if (outcome.kind === 'superseded') return { created };
      if (outcome.kind === 'failed') {
        failed.add(choice.name);
        lastError = outcome.error;
        continue;
      }
      created++;
      state = outcome.state;
    }
  }

  private async addCopy(state: ObjectState, backend: string, factor: number, cause: Cause): Promise<AddOutcome> {
    const version = state.current;
    if (!version) return { kind: 'superseded' };
    const { bucket, key } = state;
    // A fresh key per attempt: a failed attempt's bytes, which the backend may still store after
    // they were given up on, are deleted after the failed-write grace without touching a retry's.
    const copy: StoredCopy = { backend, storageKey: placementStorageKey(bucket, key, version.writeId, newUlid()), size: storedSizeOf(version) };
    try {
      await this.copy(bucket, key, version, copy, cause);
    } catch (err) {
      const error = (err as Error).message;
      this.logger.warn({ bucket, key, backend, error }, 'replica copy failed');
      await this.orphanUnlessLive(bucket, key, copy, 0, 'replication_failed', cause);
      return { kind: 'failed', error };
    }
    await this.hooks.beforeCommit?.({ bucket, key, writeId: version.writeId, copy });

    // Recorded only while the version is current, the backend holds no copy and the object is
    // still short of the factor; a concurrent change makes it decide again on the new state.
    try {
      const handled = await this.objects.change(bucket, key, {
        type: 'AddReplica', writeId: version.writeId, copy, upTo: { factor, counting: this.health.countedBackends() },
      }, cause, { initial: state, maxAttempts: maxCommitAttempts });
      if (!handled.appended) {
        await this.orphanUnlessLive(bucket, key, copy, copy.size, 'replication_superseded', cause);
        return { kind: 'superseded' };
      }
      this.backends.noteUsage(backend, { used: copy.size, count: 1 });
      const now = handled.events.reduce(evolveObject, handled.state);
      return { kind: 'added', state: { ...now, revision: handled.appended.nextRevision } };
    } catch (err) {
      await this.orphanUnlessLive(bucket, key, copy, copy.size, 'replication_not_recorded', cause);
      if (err instanceof InvariantViolationError) return { kind: 'failed', error: `${backend} has no room for the replica` };
      if (err instanceof ConcurrencyError) return { kind: 'failed', error: 'the object kept changing' };
      throw err;
    }
  }

  /**
   * Records the bytes of an attempt that was not committed for cleanup, unless that very key is
   * a live copy: a commit that failed with an error may have committed all the same.
   */
  private async orphanUnlessLive(bucket: string, key: string, copy: StoredCopy, size: number, reason: string, cause: Cause): Promise<void> {
    const now = await this.objects.load(bucket, key);
    if (now.current?.copies.some((c) => c.backend === copy.backend && c.storageKey === copy.storageKey)) return;
    await this.orphans.record(copy.backend, copy.storageKey, size, reason, cause);
  }
}
