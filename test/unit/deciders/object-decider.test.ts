import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../domain/errors.js';
import type { DomainEvent } from '../../../domain/events/catalog.js';
import type { StoredCopy } from '../../../domain/events/common.js';
import { decideObject, moveSupersededReason, type IdSource, type WriteObjectCommand } from '../../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState } from '../../../domain/objects/object-state.js';
import { deciderSpec } from '../../support/decider-spec.js';

/** Cleanup ids C1, C2, … in the order the decider draws them. */
const ids = (): IdSource => {
  let n = 0;
  return { cleanupId: () => `C${++n}` };
};
const copy = (backend: string, writeId = 'W1'): StoredCopy => ({ backend, storageKey: `alpha/k~${writeId}@${backend}`, size: 10 });
const version = (writeId: string, backends: string[]): WriteObjectCommand => ({
  writeId, size: 10, etag: `etag-${writeId}`, contentType: 'text/plain', metadata: { a: '1' }, headers: {}, checksum: null, contentSha256: null, parts: null,
  lastModified: '2026-01-01T00:00:00.000Z', copies: backends.map((b) => copy(b, writeId)), origin: 'put', encryption: null,
});
const written = (writeId: string, backends: string[], previous?: { size: number; displaced: DomainEvent['data'][] }): DomainEvent => {
  const v = version(writeId, backends);
  return {
    type: 'ObjectWritten',
    data: {
      bucket: 'alpha', key: 'k', writeId, size: v.size, previousSize: previous?.size ?? null, etag: v.etag, contentType: v.contentType,
      metadata: v.metadata, headers: v.headers, checksum: null, contentSha256: null, parts: null, lastModified: v.lastModified, copies: v.copies,
      displaced: (previous?.displaced ?? []) as never, origin: 'put', encryption: null,
    },
  };
};
const orphaned = (c: StoredCopy, cleanupId: string) => ({ ...c, cleanupId });

const object = deciderSpec(decideObject, evolveObject, () => initialObjectState('alpha', 'k'));
const w1 = written('W1', ['b1']);
const w1Twice = written('W1', ['b1', 'b2']);

describe('object decider', () => {
  it('given nothing, when written, then a first version; given a version, when written, then it replaces it and its copies become orphans', () => {
    object.given().when({ type: 'Write', version: version('W1', ['b1']), ids: ids() }).then(w1);
    object.given(w1Twice).when({ type: 'Write', version: version('W2', ['b3']), ids: ids() })
      .then(written('W2', ['b3'], { size: 10, displaced: [orphaned(copy('b1'), 'C1'), orphaned(copy('b2'), 'C2')] }));
  });

  it('given a version, when a conditional write fails its precondition on it, then refused; a multipart write names its upload', () => {
    const onlyNew = (current: unknown) => {
      if (current) throw new DomainError('PreconditionFailed');
    };
    object.given(w1).when({ type: 'Write', version: version('W2', ['b1']), ids: ids(), precondition: onlyNew }).thenRefused('PreconditionFailed');
    object.given().when({ type: 'Write', version: version('W1', ['b1']), ids: ids(), precondition: onlyNew }).then(w1);
    const [e] = decideObject({ type: 'Write', version: { ...version('W1', ['b1']), origin: 'multipart', uploadId: 'U1' }, ids: ids() }, initialObjectState('alpha', 'k'));
    expect(e?.data).toMatchObject({ origin: 'multipart', uploadId: 'U1' });
  });

  it('when written without copies or with two copies on one backend, then refused', () => {
    object.given().when({ type: 'Write', version: version('W1', []), ids: ids() }).thenRefused('InternalError', /at least one copy/);
    object.given().when({ type: 'Write', version: { ...version('W1', ['b1']), copies: [copy('b1'), copy('b1')] }, ids: ids() }).thenRefused('InternalError', /one copy per backend/);
  });

  it('given a version, when deleted, then its copies become orphans; given nothing or another version expected, then nothing', () => {
    object.given(w1Twice).when({ type: 'Delete', reason: 'client', ids: ids() }).then({
      type: 'ObjectDeleted',
      data: { bucket: 'alpha', key: 'k', writeId: 'W1', size: 10, reason: 'client', displaced: [orphaned(copy('b1'), 'C1'), orphaned(copy('b2'), 'C2')], reclaim: true },
    });
    object.given().when({ type: 'Delete', reason: 'client', ids: ids() }).thenNothing();
    object.given(w1).when({ type: 'Delete', reason: 'lifecycle', ids: ids(), expectedWriteId: 'W0' }).thenNothing();
    object.given(w1, { type: 'ObjectDeleted', data: { bucket: 'alpha', key: 'k', writeId: 'W1', size: 10, reason: 'client', displaced: [], reclaim: true } })
      .when({ type: 'Delete', reason: 'client', ids: ids() }).thenNothing();
  });

  it('given a version, when a replica is added, then recorded; given the backend holds one or the version was replaced, then nothing', () => {
    object.given(w1).when({ type: 'AddReplica', writeId: 'W1', copy: copy('b2'), jobId: 'J1' })
      .then({ type: 'ReplicaAdded', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: copy('b2'), jobId: 'J1' } });
    object.given(w1Twice).when({ type: 'AddReplica', writeId: 'W1', copy: copy('b2') }).thenNothing();
    object.given(w1, written('W2', ['b1'])).when({ type: 'AddReplica', writeId: 'W1', copy: copy('b2') }).thenNothing();
    // Up to a factor: only copies on the backends that count are counted.
    object.given(w1Twice).when({ type: 'AddReplica', writeId: 'W1', copy: copy('b3'), upTo: { factor: 2, counting: ['b1', 'b2', 'b3'] } }).thenNothing();
    object.given(w1Twice).when({ type: 'AddReplica', writeId: 'W1', copy: copy('b3'), upTo: { factor: 2, counting: ['b1', 'b3'] } })
      .then({ type: 'ReplicaAdded', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: copy('b3') } });
  });

  it('given two copies, when one is dropped, then it becomes an orphan; the last copy is never dropped; a copy no longer there, nothing', () => {
    object.given(w1Twice).when({ type: 'DropReplica', writeId: 'W1', copy: copy('b2'), reason: 'over-replication', reclaim: true, ids: ids() })
      .then({ type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b2'), 'C1'), reason: 'over-replication', reclaim: true } });
    object.given(w1).when({ type: 'DropReplica', writeId: 'W1', copy: copy('b1'), reason: 'drain', reclaim: true, ids: ids() }).thenRefused('Conflict', /last/);
    object.given(w1Twice).when({ type: 'DropReplica', writeId: 'W1', copy: { ...copy('b2'), storageKey: 'other' }, reason: 'drain', reclaim: true, ids: ids() }).thenNothing();
  });

  it('given three copies, when two are dropped at once, then both become orphans; all of them, refused; copies no longer there, skipped', () => {
    const w1Thrice = written('W1', ['b1', 'b2', 'b3']);
    const drop = { type: 'DropReplicas' as const, writeId: 'W1', copies: [copy('b2'), copy('b3')], reason: 'over-replication' as const, reclaim: true, ids: ids() };
    object.given(w1Thrice).when(drop).then(
      { type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b2'), 'C1'), reason: 'over-replication', reclaim: true } },
      { type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b3'), 'C2'), reason: 'over-replication', reclaim: true } },
    );
    object.given(w1Thrice).when({ ...drop, copies: [copy('b1'), copy('b2'), copy('b3')], ids: ids() }).thenRefused('Conflict', /none/);
    object.given(w1Twice).when({ ...drop, ids: ids() })
      .then({ type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b2'), 'C1'), reason: 'over-replication', reclaim: true } });
    object.given(w1Thrice, written('W2', ['b1', 'b2'])).when({ ...drop, ids: ids() }).thenNothing();
  });

  it('given a copy on b1, when moved to b3, then recorded; given the copy gone, the target holding one, or a newer version, then nothing', () => {
    const move = { type: 'MoveCopy' as const, writeId: 'W1', from: copy('b1'), to: copy('b3'), jobId: 'J1', moveId: 'M1', ids: ids() };
    object.given(w1).when(move).then({
      type: 'CopyMoved', data: { bucket: 'alpha', key: 'k', writeId: 'W1', from: orphaned(copy('b1'), 'C1'), to: copy('b3'), jobId: 'J1', moveId: 'M1' },
    });
    object.given(w1Twice).when({ ...move, to: copy('b2') }).thenNothing();
    object.given(w1, written('W2', ['b1'])).when(move).thenNothing();
    object.given(w1).when({ ...move, from: copy('b2') }).thenNothing();
  });

  it('says why a move decided nothing: an overwrite, a delete, the source copy replaced, or the target holding a copy', () => {
    const move = { type: 'MoveCopy' as const, writeId: 'W1', from: copy('b1'), to: copy('b3'), jobId: 'J1', moveId: 'M1', ids: ids() };
    const stateOf = (...history: DomainEvent[]) => history.reduce(evolveObject, initialObjectState('alpha', 'k'));
    const deleted: DomainEvent = { type: 'ObjectDeleted', data: { bucket: 'alpha', key: 'k', writeId: 'W1', size: 10, reason: 'client', displaced: [], reclaim: true } };
    const repaired: DomainEvent = { type: 'CopyRepaired', data: { bucket: 'alpha', key: 'k', writeId: 'W1', from: orphaned(copy('b1'), 'C1'), to: copy('b3'), source: 'b2' } };
    expect(moveSupersededReason(stateOf(w1, written('W2', ['b1'])), move)).toBe('a client overwrote the object during the move');
    expect(moveSupersededReason(stateOf(w1, deleted), move)).toBe('the object was deleted during the move');
    expect(moveSupersededReason(stateOf(w1Twice, repaired), move)).toBe('the copy on b1 was replaced during the move (a repair or another job)');
    expect(moveSupersededReason(stateOf(written('W1', ['b1', 'b3'])), move)).toBe('b3 already holds a copy');
  });

  it('given a removed backend, when its copy is removed, then the copy is dropped, or the object deleted when it was the only copy', () => {
    const remove = { type: 'RemoveBackendCopy' as const, writeId: 'W1', backend: 'b2', purge: false, jobId: 'J1', ids: ids() };
    object.given(w1Twice).when(remove).then({
      type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b2'), 'C1'), reason: 'backend-removed', reclaim: false, jobId: 'J1' },
    });
    object.given(written('W1', ['b2'])).when({ ...remove, purge: true, ids: ids() }).then({
      type: 'ObjectDeleted', data: { bucket: 'alpha', key: 'k', writeId: 'W1', size: 10, reason: 'purge', displaced: [orphaned(copy('b2'), 'C1')], reclaim: true },
    });
    object.given(written('W1', ['b2'])).when({ ...remove, ids: ids() }).then({
      type: 'ObjectDeleted', data: { bucket: 'alpha', key: 'k', writeId: 'W1', size: 10, reason: 'backend-removed', displaced: [orphaned(copy('b2'), 'C1')], reclaim: false },
    });
    object.given(w1).when(remove).thenNothing();
  });

  it('given a copy, when checked, then verified or corrupt; given a corrupt copy and a healthy one, when repaired, then the corrupt bytes become an orphan', () => {
    const sha = 'a'.repeat(64);
    const ref = { bucket: 'alpha', key: 'k', writeId: 'W1', backend: 'b1', storageKey: copy('b1').storageKey, component: 'scrub' as const };
    object.given(w1Twice).when({ type: 'RecordCheck', writeId: 'W1', copy: copy('b1'), component: 'scrub' }).then({ type: 'CopyVerified', data: ref });
    const corrupted: DomainEvent = { type: 'CopyCorrupted', data: { ...ref, reason: 'missing', expectedSha256: sha, actualSha256: null } };
    object.given(w1Twice).when({ type: 'RecordCheck', writeId: 'W1', copy: copy('b1'), component: 'scrub', corrupt: { reason: 'missing', expectedSha256: sha, actualSha256: null } }).then(corrupted);
    // Found corrupt again (another reader, another scrub): recorded once.
    object.given(w1Twice, corrupted).when({ type: 'RecordCheck', writeId: 'W1', copy: copy('b1'), component: 'read', corrupt: { reason: 'ciphertext-authentication', expectedSha256: null, actualSha256: null } }).thenNothing();
    object.given(w1Twice).when({ type: 'RecordCheck', writeId: 'W1', copy: copy('b3'), component: 'scrub' }).thenNothing();
    const repaired = copy('b1', 'W1-r');
    object.given(w1Twice, corrupted).when({ type: 'RepairCopy', writeId: 'W1', from: copy('b1'), to: repaired, source: 'b2', ids: ids() }).then({
      type: 'CopyRepaired', data: { bucket: 'alpha', key: 'k', writeId: 'W1', from: orphaned(copy('b1'), 'C1'), to: repaired, source: 'b2' },
    });
    object.given(w1Twice, corrupted).when({ type: 'RepairCopy', writeId: 'W1', from: copy('b2'), to: copy('b2', 'x'), source: 'b1', ids: ids() }).thenNothing();
    const state = object.given(w1Twice, corrupted).state;
    expect(state.current?.corrupt).toEqual(['b1']);
    expect(object.given(w1Twice, corrupted, { type: 'ReplicaDropped', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: orphaned(copy('b1'), 'C9'), reason: 'corrupted', reclaim: true } }).state.current?.corrupt).toBeUndefined();
  });

  it('given a version, when its checksum is backfilled, then recorded; given another version, then nothing', () => {
    const sha = 'b'.repeat(64);
    object.given(w1).when({ type: 'BackfillChecksum', writeId: 'W1', contentSha256: sha, parts: null })
      .then({ type: 'ChecksumBackfilled', data: { bucket: 'alpha', key: 'k', writeId: 'W1', contentSha256: sha, parts: null } });
    object.given(w1).when({ type: 'BackfillChecksum', writeId: 'W0', contentSha256: sha, parts: null }).thenNothing();
  });

  it('evolve: the state is the fold of the stream, copies by backend name, revision counted per event', () => {
    const state = object.given(written('W1', ['b2', 'b1']), { type: 'ReplicaAdded', data: { bucket: 'alpha', key: 'k', writeId: 'W1', copy: copy('a0') } }).state;
    expect(state.revision).toBe(1n);
    expect(state.current?.copies.map((c) => c.backend)).toEqual(['a0', 'b1', 'b2']);
  });
});
