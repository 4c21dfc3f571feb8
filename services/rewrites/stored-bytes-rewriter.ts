/**
 * Rewrites the stored bytes of one object version for encrypt-existing and decrypt-existing:
 * the client's bytes are read once (decrypted if need be, and checked against the ETag when it
 * is an MD5), written encrypted or in plaintext to a new storage key on the first copy's
 * backend, copied verbatim from there to every other copy's backend, and committed as one
 * StoredBytesRewritten with the job's step (compare-and-swap on the object's revision). The old
 * bytes become orphans for the cleanup worker. A client's write during the rewrite wins.
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { RewriteRef } from '../../domain/jobs/job-decider.js';
import type { InFlightRewrite } from '../../domain/jobs/job-state.js';
import { rewriteIdFor } from '../../domain/objects/placement-ids.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { placementStorageKey } from '../../domain/objects/storage-keys.js';
import { isMd5Hex } from '../../domain/s3/etag.js';
import { SegmentEncryptStream, type DataKey } from '../../infra/crypto/index.js';
import { sha256 } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { VersionRef } from '../../projections/read/encryption-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause } from '../event-factory.js';
import type { JobRecorder } from '../moves/job-recorder.js';
import { copyStoredBytes } from '../objects/copy-version.js';
import { cleanupIds, type ObjectCommands } from '../objects/object-commands.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';

export type RewriteChange = 'encrypt' | 'decrypt';
export type RewriteOutcome = 'rewritten' | 'skipped' | 'failed';

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
   * the same rewrite as a crashed owner left it (its new bytes are overwritten, or cleaned up
   * when the object no longer needs it).
   */
  async rewrite(job: JobRecorder, change: RewriteChange, c: VersionRef, cause: Cause, inFlight?: InFlightRewrite): Promise<RewriteOutcome> {
    const rewriteId = rewriteIdFor(sha256, job.jobId, c.bucket, c.key, c.writeId);
    const ref: RewriteRef = { jobId: job.jobId, rewriteId, bucket: c.bucket, key: c.key, writeId: c.writeId };
    const state = await this.objects.load(c.bucket, c.key);
    const version = state.current;
    if (version?.writeId !== c.writeId || (version.encryption === null) !== (change === 'encrypt')) {
      const live = new Set((version?.copies ?? []).map((x) => `${x.backend}/${x.storageKey}`));
      await this.abandon((inFlight?.targets ?? []).filter((t) => !live.has(`${t.backend}/${t.storageKey}`)), cause);
      return this.skip(job, ref, version ? 'the object changed before its rewrite' : 'the object was deleted');
    }

    const dataKey = change === 'encrypt' ? await this.encryption.newDataKey() : undefined;
    const storedSize = dataKey ? dataKey.storedSize(version.size) : version.size;
    const storageKey = placementStorageKey(c.bucket, c.key, c.writeId, rewriteId);
    const targets = version.copies.map((x) => ({ backend: x.backend, storageKey, size: storedSize }));
    await job.record({ type: 'StartRewrite', rewrite: ref, targets });

    let envelope: EncryptionEnvelope | null;
    try {
      envelope = await this.writeCopies(version, targets, dataKey);
    } catch (err) {
      await this.abandon(targets, cause);
      // A client's write meanwhile may have had the bytes being read cleaned up: it wins, nothing failed.
      if ((await this.objects.load(c.bucket, c.key)).revision !== state.revision) return this.skip(job, ref, 'a client changed the object during its rewrite');
      return this.fail(job, ref, change, `could not write the ${change}ed bytes: ${(err as Error).message}`);
    }

    try {
      const handled = await this.objects.change(c.bucket, c.key, {
        type: 'RewriteStoredBytes', writeId: c.writeId, change, from: version.copies, copies: targets, encryption: envelope, jobId: job.jobId, ids: cleanupIds,
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
        return this.fail(job, ref, change, `backend ${String(err.detail.backend)} has no room for the ${change}ed copy: its quota would be exceeded`);
      }
      if (err instanceof ConcurrencyError) {
        await this.abandon(targets, cause);
        return this.fail(job, ref, change, 'the object kept changing during its rewrite');
      }
      throw err;
    }
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
    this.logger.warn({ jobId: ref.jobId, bucket: ref.bucket, key: ref.key, error }, `object not ${change}ed; a later ${change}-existing run tries it again`);
    await job.record({ type: 'FailRewrite', rewrite: ref, error });
    return 'failed';
  }
}
