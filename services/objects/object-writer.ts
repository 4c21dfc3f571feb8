import { newUlid } from '../../infra/ids.js';
import { DomainError } from '../../domain/errors.js';
import type { Checksum, StoredCopy } from '../../domain/events/common.js';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { ObjectState } from '../../domain/objects/object-state.js';
import type { BackendCandidate } from '../../domain/placement/placement.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';
import { collectBody } from './collect-body.js';
import { sealBufferedPut, sealPut } from './sealed-write.js';
import type { WritePlacement } from '../placement/write-placement.js';
import { recordFailedUpload, streamToBackend, type UploadContext } from './backend-upload.js';
import type { ObjectCommands, WriteOutcome } from './object-commands.js';
import { versionStorageKey } from '../../domain/objects/storage-keys.js';
import { droppedConnection, DroppedWrites, writeIdentity } from './dropped-writes.js';
import type { PutObjectInput, PutObjectResult, VerifiedDigests } from './put-object.js';
import { bodyCheck, putBufferedCopies, putStreamedCopies, type FanOutContext } from './write-fan-out.js';

export interface WriterSettings {
  /** Bodies up to this size are buffered so a failed backend can be retried on another. */
  bufferLimit: () => number;
  /** Copies a PUT writes before it answers (`replication.write_copies`); 1 when absent. */
  writeCopies?: () => number;
}

/**
 * The write path of a PUT: choose backends by routing strategy, upload the bytes to a fresh
 * versioned storage key, and commit the new version with the object stream's revision as the
 * expected one. The quota is enforced by that commit; when it (or anything after the upload)
 * fails, the uploaded bytes are recorded as an orphan and cleaned up. Small bodies are
 * buffered so a failed backend or a lost quota race is retried on the next backend.
 */
export class ObjectWriter {
  readonly #dropped = new DroppedWrites();

  constructor(
    private readonly backends: BackendDirectory,
    private readonly placement: WritePlacement,
    private readonly objects: ObjectCommands,
    private readonly orphans: OrphanRecorder,
    private readonly reclaimer: Reclaimer,
    private readonly events: EventFactory,
    private readonly settings: WriterSettings,
    private readonly logger: Logger,
    private readonly encryption?: ObjectEncryption,
  ) {}

  /**
   * Stores a new version. With encryption on, the client's body is encrypted on its way (one
   * segment, one new data key) and everything below handles the stored bytes; the commit
   * records the client's size, ETag and hashes with the envelope.
   */
  async put(input: PutObjectInput): Promise<PutObjectResult> {
    if (!this.encryption?.encryptsWrites) return this.store(input);
    let dataKey;
    try {
      dataKey = await this.encryption.newDataKey();
    } catch (err) {
      input.body.resume();
      throw err;
    }
    if (dataKey.storedSize(input.size) <= this.settings.bufferLimit()) return this.store(sealBufferedPut(input, dataKey, this.encryption));
    return this.store(sealPut(input, dataKey, this.encryption, (this.settings.writeCopies?.() ?? 1) > 1));
  }

  private async store(input: PutObjectInput): Promise<PutObjectResult> {
    const write = writeIdentity(input.bucket, input.key, input.size);
    const dropped = this.#dropped.backendsFor(write);
    const ranked = this.placement.rank(input.size, dropped);
    if (ranked.length === 0) {
      input.body.resume();
      if (dropped.size > 0) {
        throw new DomainError('ServiceUnavailable', 'The backends that could take this object dropped the connection on it; it is not sent to them again for a while.');
      }
      throw new DomainError('InsufficientStorage');
    }
    const writeId = newUlid(this.events.now().getTime());
    const storageKey = versionStorageKey(input.bucket, input.key, writeId);
    // Loaded while the body uploads; the commit expects this revision. A precondition is checked on the database's state.
    const state = input.precondition ? this.objects.load(input.bucket, input.key) : this.objects.loadForWrite(input.bucket, input.key);
    state.catch(() => undefined);
    if (input.precondition) {
      try {
        input.precondition((await state).current);
      } catch (err) {
        input.body.resume();
        throw err;
      }
    }
    const want = Math.max(1, this.settings.writeCopies?.() ?? 1);
    if (ranked.length < want) {
      input.body.resume();
      throw new DomainError('InsufficientStorage', `This object must be written to ${want} backends; only ${ranked.length} can take it now.`);
    }

    if (input.collected || input.size <= this.settings.bufferLimit()) {
      const { data, digests } = input.collected ? await input.collected() : { data: await (input.whole?.() ?? collectBody(input.body, input.size)), digests: await input.digests() };
      if (want > 1) return putBufferedCopies(this.fanOut(input, write, writeId, state), input, data, digests, storageKey, want);
      return this.putBuffered(input, write, ranked, writeId, storageKey, data, digests, state);
    }
    if (want > 1) return putStreamedCopies(this.fanOut(input, write, writeId, state), input, ranked[0] as BackendCandidate, storageKey, want);
    return this.putStreamed(input, write, ranked[0] as BackendCandidate, writeId, storageKey, state);
  }

  /** Remembers a backend that dropped the connection on `write`, so it is not handed that write again. */
  private failed(write: string, backend: string, err: unknown): void {
    if (droppedConnection(err)) this.#dropped.note(write, backend);
  }

  private uploads(write: string): UploadContext {
    return { backends: this.backends, orphans: this.orphans, logger: this.logger, failed: (backend, err) => this.failed(write, backend, err) };
  }

  private fanOut(input: PutObjectInput, write: string, writeId: string, state: Promise<ObjectState>): FanOutContext {
    return {
      ...this.uploads(write),
      failoverAttempts: this.placement.failoverAttempts(),
      rankFor: (size, exclude) => this.placement.rank(size, new Set([...exclude, ...this.#dropped.backendsFor(write)])),
      commit: async (copies, digests) => this.commit(input, writeId, copies, digests, await state),
    };
  }

  /** One backend after another (at most 1 + `placement.failoverAttempts()`), each tried once. */
  private async putBuffered(
    input: PutObjectInput,
    write: string,
    ranked: BackendCandidate[],
    writeId: string,
    storageKey: string,
    data: Buffer,
    digests: VerifiedDigests,
    state: Promise<ObjectState>,
  ): Promise<PutObjectResult> {
    const tried = new Set<string>();
    const maxBackends = 1 + this.placement.failoverAttempts();
    let candidates = ranked;
    let lastError: unknown;
    let quotaLost = false;
    while (candidates.length > 0 && tried.size < maxBackends) {
      const target = candidates[0] as BackendCandidate;
      tried.add(target.name);
      const client = this.backends.require(target.name).client;
      try {
        await client.putObject(storageKey, data, {
          contentLength: data.length,
          contentType: input.contentType,
          ...bodyCheck(digests),
        });
      } catch (err) {
        lastError = err;
        this.failed(write, target.name, err);
        this.logger.warn({ err, backend: target.name }, 'backend write failed; failing over');
        await recordFailedUpload(this.orphans, target.name, storageKey, input.cause);
        candidates = this.placement.rank(data.length, new Set([...tried, ...this.#dropped.backendsFor(write)]));
        continue;
      }
      try {
        return await this.commit(input, writeId, [{ backend: target.name, storageKey, size: digests.size }], digests, await state);
      } catch (err) {
        await this.orphans.record(target.name, storageKey, data.length, 'commit_failed', input.cause);
        if (!(err instanceof InvariantViolationError)) throw err;
        quotaLost = true;
        lastError = err;
        candidates = this.placement.rank(data.length, new Set([...tried, ...this.#dropped.backendsFor(write)]));
      }
    }
    if (quotaLost) throw new DomainError('InsufficientStorage');
    this.logger.warn({ err: lastError, bucket: input.bucket, key: input.key, tried: [...tried] }, 'no backend accepted the object');
    throw new DomainError('ServiceUnavailable', `No backend accepted the object (${tried.size} tried); please retry.`);
  }

  private async putStreamed(
    input: PutObjectInput,
    write: string,
    target: BackendCandidate,
    writeId: string,
    storageKey: string,
    state: Promise<ObjectState>,
  ): Promise<PutObjectResult> {
    const digests = await streamToBackend(this.uploads(write), input, target.name, storageKey);
    try {
      return await this.commit(input, writeId, [{ backend: target.name, storageKey, size: digests.size }], digests, await state);
    } catch (err) {
      await this.orphans.record(target.name, storageKey, digests.size, 'commit_failed', input.cause);
      if (err instanceof InvariantViolationError) throw new DomainError('InsufficientStorage');
      throw err;
    }
  }

  private async commit(
    input: PutObjectInput,
    writeId: string,
    copies: StoredCopy[],
    digests: VerifiedDigests,
    state: ObjectState,
  ): Promise<PutObjectResult> {
    const lastModified = this.events.now().toISOString();
    const client = input.sealed ? await input.sealed.client() : digests;
    const encryption = input.sealed?.envelope() ?? null;
    const checksum: Checksum | null = client.checksum ? { algorithm: client.checksum.algorithm, value: client.checksum.base64 } : null;
    const outcome: WriteOutcome = await this.objects.write(
      input.bucket,
      input.key,
      {
        writeId, size: client.size, etag: client.md5Hex, contentType: input.contentType, metadata: input.metadata,
        headers: input.headers, checksum, contentSha256: client.sha256Hex ?? null, parts: null, lastModified, copies, origin: input.origin,
        encryption,
      },
      input.cause,
      { initial: state, ...(input.precondition ? { precondition: input.precondition } : {}) },
    );
    this.afterCommit(outcome, copies, input.cause);
    return { writeId, etag: client.md5Hex, size: client.size, lastModified, checksum, copies };
  }

  /** Keeps the local usage view current and reclaims the displaced version's bytes. */
  afterCommit(outcome: WriteOutcome, copies: readonly StoredCopy[], cause: Cause): void {
    for (const c of copies) this.backends.noteUsage(c.backend, { used: c.size, count: 1 });
    for (const d of outcome.displaced) this.backends.noteUsage(d.backend, { used: -d.size, orphan: d.size, count: -1 });
    this.reclaimer.reclaimSoon(outcome.displaced, cause);
  }
}
