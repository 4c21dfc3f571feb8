import { DomainError } from '../errors.js';
import type { OrphanedCopy, StoredCopy } from '../events/common.js';
import type { DomainEvent, EventData } from '../events/catalog.js';
import type { IntegrityComponent } from '../events/integrity-events.js';
import type { EncryptionEnvelope, EncryptionKeyFacts } from '../encryption/envelope.js';
import type { ObjectState, ObjectVersion } from './object-state.js';

/** Ids the decider may need, generated outside (the domain has no randomness). */
export interface IdSource {
  cleanupId(): string;
}

/** Throws (e.g. 412 PreconditionFailed) when a conditional change must not apply to `current`. */
export type WritePrecondition = (current: ObjectVersion | undefined) => void;

/** A new version, how it came to be, and (multipart) the upload it completes. */
export interface WriteObjectCommand extends ObjectVersion {
  origin: EventData<'ObjectWritten'>['origin'];
  uploadId?: string;
}

/**
 * What can be asked of an object: a new version (PUT, copy, multipart completion, import), its
 * deletion, and the copy-level changes replication and jobs make to its current version.
 * `ids` draws the cleanup ids of copies that stop being live.
 */
export type ObjectCommand =
  | { type: 'Write'; version: WriteObjectCommand; ids: IdSource; precondition?: WritePrecondition }
  /** With `expectedWriteId`, only that version is deleted (a newer one written meanwhile stays). */
  | { type: 'Delete'; reason: EventData<'ObjectDeleted'>['reason']; ids: IdSource; expectedWriteId?: string; precondition?: WritePrecondition }
  /** With `upTo`, only while fewer than `factor` of the version's copies are on the `counting` backends. */
  | { type: 'AddReplica'; writeId: string; copy: StoredCopy; jobId?: string; upTo?: { factor: number; counting: readonly string[] } }
  | { type: 'DropReplica'; writeId: string; copy: StoredCopy; reason: EventData<'ReplicaDropped'>['reason']; reclaim: boolean; ids: IdSource; jobId?: string }
  /** Several chosen copies at once (over-replication); those the version no longer holds are skipped, and at least one copy stays. */
  | { type: 'DropReplicas'; writeId: string; copies: readonly StoredCopy[]; reason: EventData<'ReplicaDropped'>['reason']; reclaim: boolean; ids: IdSource }
  | { type: 'MoveCopy'; writeId: string; from: StoredCopy; to: StoredCopy; jobId: string; moveId: string; ids: IdSource }
  /** A removed (`purge`: purged) backend's copy leaves the records: the copy, or the whole object when it was the only one. */
  | { type: 'RemoveBackendCopy'; writeId: string; backend: string; purge: boolean; jobId: string; ids: IdSource }
  /** A copy's bytes were read in full: they hash to the version's SHA-256, or (`corrupt`) they do not. */
  | { type: 'RecordCheck'; writeId: string; copy: Pick<StoredCopy, 'backend' | 'storageKey'>; component: IntegrityComponent; corrupt?: CorruptFinding }
  /** A corrupt copy replaced by a verified copy of the healthy one on `source`. */
  | { type: 'RepairCopy'; writeId: string; from: StoredCopy; to: StoredCopy; source: string; ids: IdSource }
  | { type: 'BackfillChecksum'; writeId: string; contentSha256: string; parts: EventData<'ChecksumBackfilled'>['parts'] }
  /**
   * An encryption job replaces every copy of the version (`from`, as it read them) with new bytes
   * on the same backends: encrypted under `encryption`, plaintext (decrypt), or (rewrap) the same
   * chunks under headers holding the data key wrapped as `encryption.key`, replacing the wrap
   * `fromKey` the job read.
   */
  | {
    type: 'RewriteStoredBytes'; writeId: string; change: 'encrypt' | 'decrypt' | 'rewrap'; from: readonly StoredCopy[]; copies: readonly StoredCopy[];
    encryption: EncryptionEnvelope | null; fromKey?: EncryptionKeyFacts; jobId: string; ids: IdSource;
  };

export type CorruptFinding = Pick<EventData<'CopyCorrupted'>, 'reason' | 'expectedSha256' | 'actualSha256' | 'partNumber'>;

type Event<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;
export type ObjectEvent = Event<'ObjectWritten' | 'ObjectDeleted' | 'ReplicaAdded' | 'ReplicaDropped' | 'CopyMoved' |
  'CopyVerified' | 'CopyCorrupted' | 'CopyRepaired' | 'ChecksumBackfilled' | 'StoredBytesRewritten'>;

const orphan = (c: StoredCopy, ids: IdSource): OrphanedCopy => ({ backend: c.backend, storageKey: c.storageKey, size: c.size, cleanupId: ids.cleanupId() });

/** The current version when it is `writeId`, else undefined: copy-level changes apply to the current version only. */
function currentVersion(state: ObjectState, writeId: string): ObjectVersion | undefined {
  return state.current?.writeId === writeId ? state.current : undefined;
}

const holds = (version: ObjectVersion, copy: Pick<StoredCopy, 'backend' | 'storageKey'>): boolean =>
  version.copies.some((c) => c.backend === copy.backend && c.storageKey === copy.storageKey);

const holdsOn = (version: ObjectVersion, backend: string): boolean => version.copies.some((c) => c.backend === backend);

/** Why a move decided nothing on this state: the reason its job records for skipping it. */
export function moveSupersededReason(state: ObjectState, move: Extract<ObjectCommand, { type: 'MoveCopy' }>): string {
  const version = currentVersion(state, move.writeId);
  if (!version) return state.current ? 'a client overwrote the object during the move' : 'the object was deleted during the move';
  if (!holds(version, move.from)) return `the copy on ${move.from.backend} was replaced during the move (a repair or another job)`;
  return `${move.to.backend} already holds a copy`;
}

/** A new version replaces the current one; the old version's copies become orphans. */
function decideWrite(state: ObjectState, command: Extract<ObjectCommand, { type: 'Write' }>): ObjectEvent[] {
  const cmd = command.version;
  if (cmd.copies.length === 0) throw new DomainError('InternalError', 'a written version needs at least one copy');
  if (new Set(cmd.copies.map((c) => c.backend)).size !== cmd.copies.length) throw new DomainError('InternalError', 'a version holds one copy per backend');
  // Checked against the state the append is conditional on, so a concurrent change is seen.
  command.precondition?.(state.current);
  const data: EventData<'ObjectWritten'> = {
    bucket: state.bucket,
    key: state.key,
    writeId: cmd.writeId,
    size: cmd.size,
    previousSize: state.current ? state.current.size : null,
    etag: cmd.etag,
    contentType: cmd.contentType,
    metadata: cmd.metadata,
    headers: cmd.headers,
    checksum: cmd.checksum,
    contentSha256: cmd.contentSha256,
    parts: cmd.parts,
    lastModified: cmd.lastModified,
    copies: cmd.copies,
    displaced: (state.current?.copies ?? []).map((c) => orphan(c, command.ids)),
    origin: cmd.origin,
    encryption: cmd.encryption,
  };
  if (cmd.uploadId !== undefined) data.uploadId = cmd.uploadId;
  return [{ type: 'ObjectWritten', data }];
}

/** Deleting a missing key (or a version already replaced) is not an error in S3: it decides nothing. */
function decideDelete(state: ObjectState, command: Extract<ObjectCommand, { type: 'Delete' }>): ObjectEvent[] {
  if (command.expectedWriteId !== undefined && state.current?.writeId !== command.expectedWriteId) return [];
  command.precondition?.(state.current);
  if (!state.current) return [];
  return [{
    type: 'ObjectDeleted',
    data: {
      bucket: state.bucket,
      key: state.key,
      writeId: state.current.writeId,
      size: state.current.size,
      reason: command.reason,
      displaced: state.current.copies.map((c) => orphan(c, command.ids)),
      reclaim: command.reason !== 'backend-removed',
    },
  }];
}

/**
 * Copy-level changes: each applies only while the version it is about is current and the copy
 * it names is (or, for a new one, is not yet) where it says; otherwise nothing is decided and
 * the caller's work (copied bytes) is superseded.
 */
function decideCopyChange(state: ObjectState, command: Exclude<ObjectCommand, { type: 'Write' | 'Delete' | 'RewriteStoredBytes' }>): ObjectEvent[] {
  const version = currentVersion(state, command.writeId);
  if (!version) return [];
  const { bucket, key } = state;
  switch (command.type) {
    case 'AddReplica': {
      if (holdsOn(version, command.copy.backend)) return [];
      const counting = new Set(command.upTo?.counting ?? []);
      if (command.upTo && version.copies.filter((c) => counting.has(c.backend)).length >= command.upTo.factor) return [];
      const data: EventData<'ReplicaAdded'> = { bucket, key, writeId: command.writeId, copy: command.copy };
      if (command.jobId !== undefined) data.jobId = command.jobId;
      return [{ type: 'ReplicaAdded', data }];
    }
    case 'DropReplica': {
      if (!holds(version, command.copy)) return [];
      if (version.copies.length === 1) throw new DomainError('Conflict', `the copy on ${command.copy.backend} is the object's last; it cannot be dropped`);
      const data: EventData<'ReplicaDropped'> = {
        bucket, key, writeId: command.writeId, copy: orphan(command.copy, command.ids), reason: command.reason, reclaim: command.reclaim,
      };
      if (command.jobId !== undefined) data.jobId = command.jobId;
      return [{ type: 'ReplicaDropped', data }];
    }
    case 'DropReplicas': {
      const held = command.copies.filter((c, i) => holds(version, c) && command.copies.findIndex((o) => o.backend === c.backend) === i);
      if (held.length > 0 && held.length >= version.copies.length) throw new DomainError('Conflict', `dropping ${held.length} of ${version.copies.length} copies would leave the object none`);
      return held.map((c) => ({
        type: 'ReplicaDropped' as const,
        data: { bucket, key, writeId: command.writeId, copy: orphan(c, command.ids), reason: command.reason, reclaim: command.reclaim },
      }));
    }
    case 'MoveCopy':
      if (!holds(version, command.from) || holdsOn(version, command.to.backend)) return [];
      return [{
        type: 'CopyMoved',
        data: { bucket, key, writeId: command.writeId, from: orphan(command.from, command.ids), to: command.to, jobId: command.jobId, moveId: command.moveId },
      }];
    case 'RecordCheck': {
      if (!holds(version, command.copy)) return [];
      // A copy already recorded corrupt is not recorded again: readers racing on one bad copy record it once.
      if (command.corrupt && (version.corrupt ?? []).includes(command.copy.backend)) return [];
      const ref = { bucket, key, writeId: command.writeId, backend: command.copy.backend, storageKey: command.copy.storageKey, component: command.component };
      return command.corrupt ? [{ type: 'CopyCorrupted', data: { ...ref, ...command.corrupt } }] : [{ type: 'CopyVerified', data: ref }];
    }
    case 'RepairCopy': {
      const sourceHealthy = holdsOn(version, command.source) && !(version.corrupt ?? []).includes(command.source);
      const targetTaken = command.to.backend !== command.from.backend && holdsOn(version, command.to.backend);
      if (!holds(version, command.from) || !sourceHealthy || targetTaken) return [];
      return [{
        type: 'CopyRepaired',
        data: { bucket, key, writeId: command.writeId, from: orphan(command.from, command.ids), to: command.to, source: command.source },
      }];
    }
    case 'BackfillChecksum':
      return [{ type: 'ChecksumBackfilled', data: { bucket, key, writeId: command.writeId, contentSha256: command.contentSha256, parts: command.parts } }];
    case 'RemoveBackendCopy': {
      const copy = version.copies.find((c) => c.backend === command.backend);
      if (!copy) return [];
      if (version.copies.length === 1) {
        return decideDelete(state, { type: 'Delete', reason: command.purge ? 'purge' : 'backend-removed', ids: command.ids });
      }
      return [{
        type: 'ReplicaDropped',
        data: { bucket, key, writeId: command.writeId, copy: orphan(copy, command.ids), reason: 'backend-removed', reclaim: command.purge, jobId: command.jobId },
      }];
    }
  }
}

const sameCopies = (a: readonly StoredCopy[], b: readonly StoredCopy[]): boolean =>
  a.length === b.length && a.every((c) => b.some((o) => o.backend === c.backend && o.storageKey === c.storageKey));

const sameWrap = (a: EncryptionKeyFacts | undefined, b: EncryptionKeyFacts | undefined): boolean =>
  a !== undefined && b !== undefined && a.keyId === b.keyId && a.wrappedKey === b.wrappedKey;

/**
 * A rewrite applies only to the bytes the job read: the version still current, its copies still
 * those it rewrote, and still in the state the change starts from (plaintext to encrypt,
 * encrypted to decrypt, its data key still wrapped as read to rewrap). Otherwise a client or
 * another job changed it meanwhile and wins.
 */
function decideRewrite(state: ObjectState, command: Extract<ObjectCommand, { type: 'RewriteStoredBytes' }>): ObjectEvent[] {
  if ((command.change === 'decrypt') !== (command.encryption === null)) {
    throw new DomainError('InternalError', `a ${command.change} rewrite ${command.change === 'decrypt' ? 'cannot have' : 'needs'} an encryption envelope`);
  }
  if ((command.change === 'rewrap') !== (command.fromKey !== undefined)) {
    throw new DomainError('InternalError', 'a rewrap rewrite, and only one, names the wrap it replaces');
  }
  const version = currentVersion(state, command.writeId);
  if (!version || !sameCopies(version.copies, command.from)) return [];
  const startsFrom = command.change === 'encrypt' ? version.encryption === null
    : command.change === 'decrypt' ? version.encryption !== null
      : sameWrap(version.encryption?.key, command.fromKey);
  if (!startsFrom) return [];
  const backends = (copies: readonly StoredCopy[]) => copies.map((c) => c.backend).sort().join(',');
  if (backends(command.copies) !== backends(version.copies)) {
    throw new DomainError('InternalError', 'a rewrite replaces every copy of the version on the same backends');
  }
  const previous = command.change === 'rewrap' ? version.encryption?.key : undefined;
  return [{
    type: 'StoredBytesRewritten',
    data: {
      bucket: state.bucket, key: state.key, writeId: command.writeId, change: command.change, copies: [...command.copies],
      displaced: version.copies.map((c) => orphan(c, command.ids)), encryption: command.encryption,
      previousKey: previous ? { keyId: previous.keyId, keyAlias: previous.keyAlias } : null, jobId: command.jobId,
    },
  }];
}

/** Decides a command on an object's state (folded from its stream, or a snapshot of that fold). Pure. */
export function decideObject(command: ObjectCommand, state: ObjectState): ObjectEvent[] {
  switch (command.type) {
    case 'Write':
      return decideWrite(state, command);
    case 'Delete':
      return decideDelete(state, command);
    case 'RewriteStoredBytes':
      return decideRewrite(state, command);
    default:
      return decideCopyChange(state, command);
  }
}
