/**
 * Rewrites the stored bytes of one object version for the encryption jobs. encrypt-existing and
 * decrypt-existing read the client's bytes once (decrypted if need be, and checked against the
 * ETag when it is an MD5), write them encrypted or in plaintext to a new storage key on the first
 * copy's backend and copy them verbatim from there to every other copy's backend.
 * rotate-encryption-key re-wraps the data key with the primary master key and streams each copy's
 * stored bytes to a new storage key on its own backend with new segment headers holding that wrap
 * and the same ciphertext chunks (nothing is decrypted; each copy stays as good or bad as it
 * was), so the backend's bytes and the new key alone recover the object once the old key is gone.
 * Each is committed as one StoredBytesRewritten with the job's step (compare-and-swap on the
 * object's revision); the old bytes become orphans for the cleanup worker. A client's write
 * during the rewrite wins.
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import { storedSize as layoutStoredSize } from '../../domain/encryption/layout.js';
import type { RecordedWrap } from '../../domain/encryption/rotation-scope.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { RewriteRef } from '../../domain/jobs/job-decider.js';
import type { InFlightRewrite } from '../../domain/jobs/job-state.js';
import { rewriteIdFor } from '../../domain/objects/placement-ids.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { placementStorageKey } from '../../domain/objects/storage-keys.js';
import { isMd5Hex } from '../../domain/s3/etag.js';
import { HeaderRewriteStream, headerLengthOfWrap, SegmentEncryptStream, type DataKey } from '../../infra/crypto/index.js';
import { newUlid, sha256 } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { VersionRef } from '../../projections/read/encryption-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause } from '../event-factory.js';
import { JobOwnershipLostError, type JobRecorder } from '../moves/job-recorder.js';
import { copyStoredBytes } from '../objects/copy-version.js';
import { cleanupIds, type ObjectCommands } from '../objects/object-commands.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';

/** What a job does to each version it selects; a rotation re-wraps only the wraps its scope `selects`. */
export type RewritePlan = { change: 'encrypt' } | { change: 'decrypt' } | { change: 'rewrap'; selects: (wrap: RecordedWrap) => boolean };
export type RewriteChange = RewritePlan['change'];
export type RewriteOutcome = 'rewritten' | 'skipped' | 'failed';

const done: Record<RewriteChange, string> = { encrypt: 'encrypted', decrypt: 'decrypted', rewrap: 're-wrapped' };
const jobOf: Record<RewriteChange, string> = { encrypt: 'encrypt-existing', decrypt: 'decrypt-existing', rewrap: 'rotate-encryption-key' };

/** Whether `version` is still in the state `plan` starts from. */
function needs(plan: RewritePlan, version: ObjectVersion): boolean {
  if (plan.change === 'encrypt') return version.encryption === null;
  if (plan.change === 'decrypt') return version.encryption !== null;
  return version.encryption !== null && plan.selects(version.encryption.key);
}

/** The new bytes a rewrite writes: their envelope (null for plaintext) and stored size per copy. */
interface NewBytes {
  envelope: EncryptionEnvelope | null;
  storedSize: number;
  dataKey?: DataKey;
}

const maxCommitAttempts = 10;
const sum = (copies: readonly StoredCopy[]): number => copies.reduce((n, c) => n + c.size, 0);

class Md5Tap extends Transform {
  readonly hash: Hash = createHash('md5');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

export class StoredBytesRewriter {
  constructor(
    private readonly objects: ObjectCommands,
    private readonly backends: BackendDirectory,
    private readonly plain: PlaintextReader,
    private readonly encryption: ObjectEncryption,
    private readonly orphans: OrphanRecorder,
    private readonly reclaimer: Reclaimer,
    private readonly logger: Logger,
  ) {}

  /**
   * Rewrites `c` if it is still the current version and still needs `change`; `inFlight` is
   * the same rewrite as a crashed owner left it (its new bytes are cleaned up).
   */
  async rewrite(job: JobRecorder, plan: RewritePlan, c: VersionRef, cause: Cause, inFlight?: InFlightRewrite): Promise<RewriteOutcome> {
    const change = plan.change;
    const rewriteId = rewriteIdFor(sha256, job.jobId, c.bucket, c.key, c.writeId);
    const ref: RewriteRef = { jobId: job.jobId, rewriteId, bucket: c.bucket, key: c.key, writeId: c.writeId };
    const state = await this.objects.load(c.bucket, c.key);
    const version = state.current;
    // A rewrite resumed after a crash, or taken over from an owner that lost the job, gives up the
    // targets it had (that owner may still be writing there), unless they were committed.
    const live = new Set((version?.copies ?? []).map((x) => `${x.backend}/${x.storageKey}`));
    await this.abandon((inFlight?.targets ?? []).filter((t) => !live.has(`${t.backend}/${t.storageKey}`)), cause);
    if (version?.writeId !== c.writeId || !needs(plan, version)) {
      return this.skip(job, ref, version ? 'the object changed before its rewrite' : 'the object was deleted');
    }

    let next: NewBytes;
    try {
      next = await this.newBytes(change, version);
    } catch (err) {
      return this.fail(job, ref, change, (err as Error).message);
    }
    // A fresh key per attempt: a given-up attempt's bytes, which a backend may still store, are
    // deleted after the failed-write grace without touching a retry's.
    const storageKey = placementStorageKey(c.bucket, c.key, c.writeId, newUlid());
    const targets = version.copies.map((x) => ({ backend: x.backend, storageKey, size: next.storedSize }));
    await job.record({ type: 'StartRewrite', rewrite: ref, targets });

    let envelope: EncryptionEnvelope | null;
    try {
      envelope = change === 'rewrap' && next.envelope
        ? await this.rewriteHeaders(version, targets, next.envelope)
        : await this.writeCopies(version, targets, next.dataKey);
    } catch (err) {
      await this.abandon(targets, cause);
      // A client's write meanwhile may have had the bytes being read cleaned up: it wins, nothing failed.
      if ((await this.objects.load(c.bucket, c.key)).revision !== state.revision) return this.skip(job, ref, 'a client changed the object during its rewrite');
      return this.fail(job, ref, change, `could not write the ${done[change]} bytes: ${(err as Error).message}`);
    }

    try {
      const handled = await this.objects.change(c.bucket, c.key, {
        type: 'RewriteStoredBytes', writeId: c.writeId, change, from: version.copies, copies: targets, encryption: envelope,
        ...(change === 'rewrap' && version.encryption ? { fromKey: version.encryption.key } : {}), jobId: job.jobId, ids: cleanupIds,
      }, cause, {
        initial: state,
        via: job.appenderFor({ type: 'CompleteRewrite', rewrite: ref, bytesBefore: sum(version.copies), bytesAfter: sum(targets) }),
        maxAttempts: maxCommitAttempts,
      });
      const done = handled.events[0];
      if (done?.type !== 'StoredBytesRewritten') {
        await this.abandon(targets, cause);
        return this.skip(job, ref, 'a client changed the object during its rewrite');
      }
      for (const t of targets) this.backends.noteUsage(t.backend, { used: t.size });
      for (const d of done.data.displaced) this.backends.noteUsage(d.backend, { used: -d.size, orphan: d.size });
      this.reclaimer.reclaimSoon(done.data.displaced, cause);
      this.encryption.counted(change);
      return 'rewritten';
    } catch (err) {
      // Only errors that say nothing was appended leave the new bytes unreferenced.
      if (err instanceof InvariantViolationError && err.invariant === 'quota') {
        await this.abandon(targets, cause);
        return this.fail(job, ref, change, `backend ${String(err.detail.backend)} has no room for the ${done[change]} copy: its quota would be exceeded`);
      }
      if (err instanceof ConcurrencyError) {
        await this.abandon(targets, cause);
        return this.fail(job, ref, change, 'the object kept changing during its rewrite');
      }
      // The job ended meanwhile (cancelled) or has another owner: this step was not appended.
      if (err instanceof JobOwnershipLostError) await this.abandon(targets, cause);
      throw err;
    }
  }

  /**
   * What the rewrite writes: a new data key (encrypt), plaintext (decrypt), or the version's data
   * key wrapped by the primary key now, under headers as long as that wrap needs (rewrap).
   */
  private async newBytes(change: RewriteChange, version: ObjectVersion): Promise<NewBytes> {
    if (change === 'decrypt') return { envelope: null, storedSize: version.size };
    if (change === 'encrypt') {
      const dataKey = await this.encryption.newDataKey();
      return { envelope: null, storedSize: dataKey.storedSize(version.size), dataKey };
    }
    const old = version.encryption as EncryptionEnvelope;
    const corrupt = version.corrupt ?? [];
    if (corrupt.length > 0) throw new Error(`its copy on ${corrupt.join(', ')} is known corrupt; it is re-wrapped once repaired`);
    let wrap;
    try {
      wrap = await (await this.encryption.dataKeyFor(old)).rewrap(this.encryption.requireKeyring());
    } catch (err) {
      throw new Error(`could not re-wrap its data key: ${(err as Error).message}`);
    }
    const envelope = { ...old, headerLength: headerLengthOfWrap(wrap), key: wrap };
    return { envelope, storedSize: layoutStoredSize(envelope) };
  }

  /**
   * Streams each copy's stored bytes to its target on the same backend with every segment header
   * replaced by one holding the new wrap; the chunks pass through as they are.
   */
  private async rewriteHeaders(version: ObjectVersion, targets: readonly StoredCopy[], envelope: EncryptionEnvelope): Promise<EncryptionEnvelope> {
    const layout = version.encryption as EncryptionEnvelope;
    const expected = layoutStoredSize(layout);
    for (const target of targets) {
      const copy = version.copies.find((x) => x.backend === target.backend);
      if (!copy) throw new Error(`no copy on ${target.backend} to rewrite`);
      if (copy.size !== expected) throw new Error(`the copy on ${copy.backend} holds ${copy.size} bytes, its layout ${expected}`);
      const client = this.backends.require(copy.backend).client;
      const source = (await client.getObject(copy.storageKey)).body;
      const body = pipeline(source, new HeaderRewriteStream(layout, envelope.key), () => undefined);
      try {
        await client.putObject(target.storageKey, body, { contentLength: target.size, contentType: version.contentType });
      } catch (err) {
        source.destroy();
        throw err;
      }
    }
    return envelope;
  }

  /**
   * Writes the new bytes to the first target from the client's bytes, then copies them verbatim
   * to the others (the same ciphertext everywhere: the envelope is the version's). Returns the
   * envelope of the encrypted bytes, null for plaintext.
   */
  private async writeCopies(version: ObjectVersion, targets: readonly StoredCopy[], dataKey: DataKey | undefined): Promise<EncryptionEnvelope | null> {
    const [first, ...rest] = targets as [StoredCopy, ...StoredCopy[]];
    const source = version.size === 0 ? Readable.from([]) : (await this.plain.open(version, undefined)).body;
    const tap = new Md5Tap();
    const seal = dataKey ? new SegmentEncryptStream(dataKey, 0) : undefined;
    const body = seal ? pipeline(source, tap, seal, () => undefined) : pipeline(source, tap, () => undefined);
    const firstClient = this.backends.require(first.backend).client;
    let stored: string;
    try {
      stored = (await firstClient.putObject(first.storageKey, body, { contentLength: first.size, contentType: version.contentType })).etag;
    } catch (err) {
      source.destroy();
      throw err;
    }
    // A plain MD5 ETag is the client's bytes' hash: bytes that do not match it are never sealed or copied.
    if (isMd5Hex(version.etag) && tap.hash.digest('hex') !== version.etag.toLowerCase()) {
      throw new Error(`the bytes read do not match the object's ETag ${version.etag}`);
    }
    for (const target of rest) {
      await copyStoredBytes(
        { client: firstClient, storageKey: first.storageKey }, { client: this.backends.require(target.backend).client, storageKey: target.storageKey },
        first.size, version.contentType, isMd5Hex(stored) ? stored : undefined,
      );
    }
    return seal && dataKey ? this.encryption.envelope(dataKey, [seal.facts()]) : null;
  }

  /** New bytes no version will reference: left to the cleanup worker. */
  private async abandon(targets: readonly StoredCopy[], cause: Cause): Promise<void> {
    for (const t of targets) await this.orphans.record(t.backend, t.storageKey, 0, 'rewrite_abandoned', cause);
  }

  private async skip(job: JobRecorder, ref: RewriteRef, reason: string): Promise<RewriteOutcome> {
    await job.record({ type: 'SkipRewrite', rewrite: ref, reason });
    return 'skipped';
  }

  private async fail(job: JobRecorder, ref: RewriteRef, change: RewriteChange, error: string): Promise<RewriteOutcome> {
    this.logger.warn({ jobId: ref.jobId, bucket: ref.bucket, key: ref.key, error }, `object not ${done[change]}; a later ${jobOf[change]} run tries it again`);
    await job.record({ type: 'FailRewrite', rewrite: ref, error });
    return 'failed';
  }
}
