import { describe, expect, it } from 'vitest';
import type { EncryptionEnvelope, EncryptionKeyFacts } from '../../../domain/encryption/envelope.js';
import type { DomainEvent } from '../../../domain/events/catalog.js';
import type { StoredCopy } from '../../../domain/events/common.js';
import { checkpointOf, evolveJob, initialJobState } from '../../../domain/jobs/job-state.js';
import { decideJob, type RewriteRef } from '../../../domain/jobs/job-decider.js';
import { decideObject, type IdSource } from '../../../domain/objects/object-decider.js';
import { describeObjectEvent } from '../../../domain/objects/object-history.js';
import { evolveObject, initialObjectState } from '../../../domain/objects/object-state.js';
import { deciderSpec } from '../../support/decider-spec.js';

/** Cleanup ids C1, C2, … in the order the decider draws them. */
const ids = (): IdSource => {
  let n = 0;
  return { cleanupId: () => `C${++n}` };
};
const plainCopy = (backend: string): StoredCopy => ({ backend, storageKey: `alpha/k~W1@${backend}`, size: 100 });
const sealedCopy = (backend: string): StoredCopy => ({ backend, storageKey: `alpha/k~W1-R1@${backend}`, size: 161 });
const wrapBy = (keyId: string, keyAlias: string, wrappedKey = 'AAAA'): EncryptionKeyFacts => ({ keyId, keyAlias, wrapScheme: 'aes256-kw', wrappedKey });
const oldKey = wrapBy('00000000000000aa', 'config-0');
const newKey = wrapBy('00000000000000bb', 'config-0', 'BBBB');
const envelope = (key: EncryptionKeyFacts): EncryptionEnvelope => ({
  format: 2, chunkSize: 65536, headerLength: 60, key, segments: [{ partNumber: 0, plainSize: 100, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' }],
});

const written = (backends: string[], encryption: EncryptionEnvelope | null = null, writeId = 'W1'): DomainEvent => ({
  type: 'ObjectWritten',
  data: {
    bucket: 'alpha', key: 'k', writeId, size: 100, previousSize: null, etag: 'e', contentType: 'text/plain', metadata: {}, headers: {},
    checksum: null, contentSha256: null, parts: null, lastModified: '2026-01-01T00:00:00.000Z',
    copies: backends.map(encryption ? sealedCopy : plainCopy), displaced: [], origin: 'put', encryption,
  },
});
const encrypt = (from: StoredCopy[], copies: StoredCopy[]) => ({
  type: 'RewriteStoredBytes' as const, writeId: 'W1', change: 'encrypt' as const, from, copies, encryption: envelope(oldKey), jobId: 'J1', ids: ids(),
});
const decrypt = (from: StoredCopy[], copies: StoredCopy[]) => ({
  type: 'RewriteStoredBytes' as const, writeId: 'W1', change: 'decrypt' as const, from, copies, encryption: null, jobId: 'J1', ids: ids(),
});

const rewrap = (from: StoredCopy[], copies: StoredCopy[], encryption: EncryptionEnvelope) => ({
  type: 'RewriteStoredBytes' as const, writeId: 'W1', change: 'rewrap' as const, from, copies, encryption, fromKey: oldKey, jobId: 'J1', ids: ids(),
});

const object = deciderSpec(decideObject, evolveObject, () => initialObjectState('alpha', 'k'));
const plainTwice = written(['b1', 'b2']);
const sealedTwice = written(['b1', 'b2'], envelope(oldKey));

describe('object decider: encryption rewrites', () => {
  it('given a plaintext version on two backends, when the job rewrites both copies encrypted, then they replace the old ones, which become orphans', () => {
    const encrypted: DomainEvent = {
      type: 'StoredBytesRewritten',
      data: {
        bucket: 'alpha', key: 'k', writeId: 'W1', change: 'encrypt', copies: [sealedCopy('b1'), sealedCopy('b2')],
        displaced: [{ ...plainCopy('b1'), cleanupId: 'C1' }, { ...plainCopy('b2'), cleanupId: 'C2' }], encryption: envelope(oldKey), previousKey: null, jobId: 'J1',
      },
    };
    object.given(plainTwice).when(encrypt([plainCopy('b1'), plainCopy('b2')], [sealedCopy('b1'), sealedCopy('b2')])).then(encrypted);
    const after = [plainTwice, encrypted].reduce(evolveObject, initialObjectState('alpha', 'k'));
    expect(after.current).toMatchObject({ size: 100, etag: 'e', copies: [sealedCopy('b1'), sealedCopy('b2')], encryption: envelope(oldKey) });
    expect(describeObjectEvent(encrypted)).toMatch(/encrypted with key config-0 \(00000000000000aa\) by job J1: now 322 bytes stored on b1, b2; the old bytes \(200 bytes on b1, b2\) queued for cleanup/);
  });

  it('given the object changed meanwhile (a client overwrote it, a copy moved, it was encrypted already), when the rewrite commits, then nothing: the change wins', () => {
    const rewrite = encrypt([plainCopy('b1'), plainCopy('b2')], [sealedCopy('b1'), sealedCopy('b2')]);
    object.given(plainTwice, written(['b1'], null, 'W2')).when(rewrite).thenNothing();
    object.given(written(['b1', 'b3'])).when(rewrite).thenNothing();
    object.given(sealedTwice).when({ ...rewrite, from: [sealedCopy('b1'), sealedCopy('b2')] }).thenNothing();
    object.given().when(rewrite).thenNothing();
  });

  it('given an encrypted version, when decrypted, then plaintext copies replace it; given it plaintext, then nothing', () => {
    object.given(sealedTwice).when(decrypt([sealedCopy('b1'), sealedCopy('b2')], [plainCopy('b1'), plainCopy('b2')])).then({
      type: 'StoredBytesRewritten',
      data: {
        bucket: 'alpha', key: 'k', writeId: 'W1', change: 'decrypt', copies: [plainCopy('b1'), plainCopy('b2')],
        displaced: [{ ...sealedCopy('b1'), cleanupId: 'C1' }, { ...sealedCopy('b2'), cleanupId: 'C2' }], encryption: null, previousKey: null, jobId: 'J1',
      },
    });
    object.given(plainTwice).when(decrypt([plainCopy('b1'), plainCopy('b2')], [plainCopy('b1'), plainCopy('b2')])).thenNothing();
  });

  it('when a rewrite would leave a copy out, put one elsewhere, or mismatch its change and envelope, then refused', () => {
    object.given(plainTwice).when(encrypt([plainCopy('b1'), plainCopy('b2')], [sealedCopy('b1')])).thenRefused('InternalError', /every copy/);
    object.given(plainTwice).when(encrypt([plainCopy('b1'), plainCopy('b2')], [sealedCopy('b1'), sealedCopy('b3')])).thenRefused('InternalError', /same backends/);
    object.given(plainTwice).when({ ...encrypt([plainCopy('b1')], [sealedCopy('b1')]), encryption: null }).thenRefused('InternalError', /needs an encryption envelope/);
  });

  it('given an encrypted version, when its headers are rewritten with the data key re-wrapped from the wrap the job read, then new copies carry the new wrap and header length, the old ones become orphans', () => {
    const rewrapped = { ...envelope(newKey), headerLength: 64 };
    const headered = (backend: string): StoredCopy => ({ backend, storageKey: `alpha/k~W1-R2@${backend}`, size: 165 });
    const event: DomainEvent = {
      type: 'StoredBytesRewritten',
      data: {
        bucket: 'alpha', key: 'k', writeId: 'W1', change: 'rewrap', copies: [headered('b1'), headered('b2')],
        displaced: [{ ...sealedCopy('b1'), cleanupId: 'C1' }, { ...sealedCopy('b2'), cleanupId: 'C2' }], encryption: rewrapped,
        previousKey: { keyId: oldKey.keyId, keyAlias: 'config-0' }, jobId: 'J1',
      },
    };
    object.given(sealedTwice).when(rewrap([sealedCopy('b1'), sealedCopy('b2')], [headered('b1'), headered('b2')], rewrapped)).then(event);
    const after = [sealedTwice, event].reduce(evolveObject, initialObjectState('alpha', 'k'));
    expect(after.current).toMatchObject({ size: 100, etag: 'e', copies: [headered('b1'), headered('b2')], encryption: rewrapped });
    expect(describeObjectEvent(event)).toMatch(
      /data key re-wrapped, key config-0 \(00000000000000aa\) → config-0 \(00000000000000bb\), and the stored headers rewritten \(same ciphertext\) by job J1: now 330 bytes stored on b1, b2; the old bytes \(322 bytes on b1, b2\) queued for cleanup/,
    );
  });

  it('given the wrap changed meanwhile, or the version is plaintext or replaced, when its headers are rewritten, then nothing; a rewrap without the wrap it replaces is refused', () => {
    const copies = [sealedCopy('b1'), sealedCopy('b2')];
    object.given(written(['b1', 'b2'], envelope(newKey))).when(rewrap(copies, copies, envelope(newKey))).thenNothing();
    object.given(plainTwice).when(rewrap([plainCopy('b1'), plainCopy('b2')], copies, envelope(newKey))).thenNothing();
    object.given(sealedTwice, written(['b1', 'b2'], envelope(oldKey), 'W2')).when(rewrap(copies, copies, envelope(newKey))).thenNothing();
    const { fromKey: _omitted, ...unnamed } = rewrap(copies, copies, envelope(newKey));
    object.given(sealedTwice).when(unnamed).thenRefused('InternalError', /names the wrap it replaces/);
  });

  it('given a DataKeyRewrapped of an older build, when folded and described, then only the key facts changed', () => {
    const rewrapped: DomainEvent = {
      type: 'DataKeyRewrapped',
      data: { bucket: 'alpha', key: 'k', writeId: 'W1', previousKeyId: oldKey.keyId, previousKeyAlias: 'config-0', wrap: newKey, jobId: 'J1' },
    };
    const after = [sealedTwice, rewrapped].reduce(evolveObject, initialObjectState('alpha', 'k'));
    expect(after.current?.encryption).toEqual({ ...envelope(oldKey), key: newKey });
    expect(after.current?.copies).toEqual([sealedCopy('b1'), sealedCopy('b2')]);
    expect(describeObjectEvent(rewrapped)).toMatch(/config-0 \(00000000000000aa\) → config-0 \(00000000000000bb\); no stored byte changed/);
  });
});

const start = { jobId: 'J1', kind: 'encrypt-existing' as const, objectsTotal: 2, bytesTotal: 200, params: {} };
const started: DomainEvent = { type: 'JobStarted', data: start };
const rewrite = (n: number): RewriteRef => ({ jobId: 'J1', rewriteId: `R${n}`, bucket: 'alpha', key: `k${n}`, writeId: `W${n}` });
const rewriteStarted = (n: number): DomainEvent => ({ type: 'RewriteStarted', data: { ...rewrite(n), targets: [sealedCopy('b1')] } });
const job = deciderSpec(decideJob, evolveJob, () => initialJobState('J1'));

describe('job decider: rewrites of encryption jobs', () => {
  it('given an encryption job running, when a rewrite starts, completes, is skipped or fails, then that step is recorded', () => {
    job.given(started).when({ type: 'StartRewrite', rewrite: rewrite(1), targets: [sealedCopy('b1')] }).then(rewriteStarted(1));
    job.given(started, rewriteStarted(1)).when({ type: 'CompleteRewrite', rewrite: rewrite(1), bytesBefore: 100, bytesAfter: 161 })
      .then({ type: 'RewriteCompleted', data: { ...rewrite(1), bytesBefore: 100, bytesAfter: 161 } });
    job.given(started, rewriteStarted(1)).when({ type: 'SkipRewrite', rewrite: rewrite(1), reason: 'a client changed the object' })
      .then({ type: 'RewriteSkipped', data: { ...rewrite(1), reason: 'a client changed the object' } });
    job.given(started).when({ type: 'FailRewrite', rewrite: rewrite(1), error: 'quota' }).then({ type: 'RewriteFailed', data: { ...rewrite(1), error: 'quota' } });
  });

  it('given a drain, a stopped job, or another job\'s rewrite, when a rewrite step is recorded, then refused', () => {
    job.given({ type: 'JobStarted', data: { ...start, kind: 'drain', backend: 'b1' } }).when({ type: 'StartRewrite', rewrite: rewrite(1), targets: [sealedCopy('b1')] })
      .thenRefused('InternalError', /does not rewrite/);
    job.given(started, { type: 'JobCancelled', data: { jobId: 'J1' } }).when({ type: 'FailRewrite', rewrite: rewrite(1), error: 'x' }).thenRefused('Conflict');
    job.given(started).when({ type: 'SkipRewrite', rewrite: { ...rewrite(1), jobId: 'J2' }, reason: 'x' }).thenRefused('InternalError');
    job.given(started).when({ type: 'StartRewrite', rewrite: rewrite(1), targets: [] }).thenRefused('InternalError', /no target/);
  });

  it('given rewrites in flight, done and failed, when checkpointed and resumed from the checkpoint, then the state is the same', () => {
    const history: DomainEvent[] = [
      started, rewriteStarted(1), rewriteStarted(2), { type: 'RewriteCompleted', data: { ...rewrite(2), bytesBefore: 100, bytesAfter: 161 } },
      { type: 'RewriteFailed', data: { ...rewrite(3), error: 'quota' } },
    ];
    const state = history.reduce((s, e) => evolveJob(s, e), initialJobState('J1'));
    expect(state).toMatchObject({ rewritten: 1, movedBytes: 161, rewritesFailed: new Set(['alpha/k3~W3']) });
    expect([...state.rewritesInFlight.keys()]).toEqual(['R1']);
    const resumed = evolveJob(initialJobState('J1'), { type: 'JobCheckpointed', data: checkpointOf(state) });
    expect({ ...resumed, revision: state.revision, sinceCheckpoint: 0 }).toEqual({ ...state, sinceCheckpoint: 0 });
    expect(checkpointOf({ ...state, kind: 'drain' })).not.toHaveProperty('rewritesInFlight');
  });
});
