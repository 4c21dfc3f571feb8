import { createHash } from 'node:crypto';
import { compositeSha256 } from '../integrity/content-hash.js';
import type { Readable } from 'node:stream';
import { newUlid } from '../../infra/ids.js';
import { DomainError } from '../../domain/errors.js';
import type { Checksum, ObjectHeaders, StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { availableBytes, type BackendCandidate } from '../../domain/placement/placement.js';
import { completeMultipartUpload, type CompletedUpload, type RequestedPart } from '../../domain/s3/multipart.js';
import { completesWithSameParts, type RecordedPart, type UploadCreated, type UploadState } from '../../domain/uploads/upload-state.js';
import { BackendHttpError } from '../../infra/backend/index.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { countUploads, loadUpload, type UploadRow } from '../../projections/read/upload-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { OtherStreamAppend } from '../commands/handle-command.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { WritePlacement } from '../placement/write-placement.js';
import type { ObjectCommands, WritePrecondition } from '../objects/object-commands.js';
import { abandonBody } from '../objects/backend-upload.js';
import type { ObjectWriter } from '../objects/object-writer.js';
import { versionStorageKey } from '../../domain/objects/storage-keys.js';
import { removeBackendUpload, type RemovalOutcome } from './backend-upload-removal.js';
import { PartAttempts } from './part-attempts.js';
import { UploadGates } from './upload-gates.js';
import { UploadRelocation } from './upload-relocation.js';
import { UploadCommands } from './upload-commands.js';
import { loadUploadState, uploadStreamId } from './upload-stream.js';
import { completedEnvelope, partSealing, partStoredSize, sealPart, storedBytes, type PartSealing } from './sealed-part.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';

const md5Hex = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

export interface NewUpload {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  maxUploadsPerBucket: number;
}

/** Which upload a request means: an upload id works only with the bucket and key it was created for. */
export interface UploadTarget {
  uploadId: string;
  bucket: string;
  key: string;
}

export type AbortReason = 'client' | 'stale' | 'drain' | 'backend-removed';

/** Moves of its upload one part may cause (each time the room it found was taken meanwhile). */
const maxMovesPerPart = 3;

export interface PartInput {
  partNumber: number;
  size: number;
  body: Readable;
  digests: () => Promise<{ md5Hex: string; size: number; sha256Hex?: string; checksum?: { algorithm: Checksum['algorithm']; base64: string } }>;
}

/**
 * Multipart uploads on the backend's native multipart API: parts go straight to the backend
 * (no re-upload at Complete) and count against its quota as pending bytes as they arrive. An
 * upload id is bound to the bucket and key it was created for. With encryption on, an upload is
 * created with its data key and each part is encrypted on its way (sealed-part.ts).
 */
export class MultipartService {
  private readonly attempts = new PartAttempts();
  private readonly gates = new UploadGates();
  private readonly relocation: UploadRelocation;
  private readonly uploads: UploadCommands;

  constructor(
    private readonly db: Queryable,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly placement: WritePlacement,
    private readonly writer: ObjectWriter,
    private readonly objects: ObjectCommands,
    private readonly orphans: OrphanRecorder,
    private readonly logger: Logger,
    private readonly encryption?: ObjectEncryption,
  ) {
    this.uploads = new UploadCommands(store, events);
    this.relocation = new UploadRelocation(store, events, this.uploads, backends, placement, orphans, logger);
  }

  /** The upload, if it exists and belongs to this bucket and key; NoSuchUpload otherwise. */
  async requireUpload(bucket: string, key: string, uploadId: string): Promise<UploadRow> {
    const upload = await loadUpload(this.db, uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });
    return upload;
  }

  async create(input: NewUpload, cause: Cause): Promise<string> {
    if (input.maxUploadsPerBucket > 0 && (await countUploads(this.db, input.bucket)) >= input.maxUploadsPerBucket) {
      throw new DomainError('SlowDown', `Bucket ${input.bucket} has reached its limit of ${input.maxUploadsPerBucket} multipart uploads in progress.`);
    }
    const ranked = this.placement.rankByFreeSpace(0);
    if (ranked.length === 0) throw new DomainError('InsufficientStorage');
    const uploadId = newUlid(this.events.now().getTime());
    const writeId = newUlid(this.events.now().getTime());
    const storageKey = versionStorageKey(input.bucket, input.key, writeId);
    const encryption = this.encryption?.encryptsWrites ? this.encryption.keyLayout(await this.encryption.newDataKey()) : null;
    const { target, client, backendUploadId } = await this.createOnBackend(ranked, storageKey, input.contentType);
    try {
      await this.uploads.create({
        uploadId, bucket: input.bucket, key: input.key, backend: target.name, backendUploadId, storageKey, writeId,
        contentType: input.contentType, metadata: input.metadata, headers: input.headers, initiatedAt: this.events.now().toISOString(), encryption,
      }, cause);
    } catch (err) {
      await client.abortMultipartUpload(storageKey, backendUploadId).catch(() => undefined);
      throw err;
    }
    return uploadId;
  }

  /**
   * Starts the backend's upload on the first ranked backend that answers (nothing is sent yet, so
   * failing over is cheap), trying at most 1 + `server.write_failover_attempts` of them.
   */
  private async createOnBackend(ranked: readonly BackendCandidate[], storageKey: string, contentType: string) {
    for (const target of ranked.slice(0, 1 + this.placement.failoverAttempts())) {
      const client = this.backends.require(target.name).client;
      try {
        return { target, client, backendUploadId: await client.createMultipartUpload(storageKey, { contentType }) };
      } catch (err) {
        this.logger.warn({ err, backend: target.name }, 'backend could not start a multipart upload; failing over');
      }
    }
    throw new DomainError('ServiceUnavailable', 'No backend could start the multipart upload; please retry.');
  }

  /** How many uploads of this part are on this instance: the one streaming and those queued behind it. */
  partUploadAttempts(uploadId: string, partNumber: number): number {
    return this.attempts.attempts(uploadId, partNumber);
  }

  /**
   * Streams one part to the upload's backend, then records it (refused once the upload is
   * closed). A part that does not fit there moves the upload first, with its parts so far, to a
   * backend with room for them and this part (UploadRelocation); with none, InsufficientStorage
   * before any byte of the part is sent. A replaced part's old bytes count as room.
   */
  async uploadPart(upload: UploadRow, part: PartInput, cause: Cause): Promise<{ etag: string; checksum: Checksum | null }> {
    const sealing = await partSealing(this.store, this.encryption, upload.uploadId, part);
    for (let moves = 0; ; moves++) {
      const stored = await this.gates.part(upload.uploadId, async () => {
        // Read again: the upload may have moved while this part waited.
        const current = await this.requireUpload(upload.bucket, upload.key, upload.uploadId);
        if (!(await this.roomForPart(current, part.partNumber, sealing.storedSize))) return undefined;
        // Held while in flight (through refreshes: no commit records it yet), so the parts sent beside it see the room it takes.
        const release = this.backends.hold(current.backend, { pending: sealing.storedSize });
        try {
          return await this.attempts.run(current.uploadId, part.partNumber, () => this.storePart(current, part, sealing, cause));
        } finally {
          release();
        }
      });
      if (stored) return stored;
      try {
        if (moves >= maxMovesPerPart) throw new DomainError('InsufficientStorage');
        await this.gates.move(upload.uploadId, () => this.relocation.relocate(upload.uploadId, part.partNumber, sealing.storedSize, cause));
      } catch (err) {
        part.body.resume();
        throw err;
      }
    }
  }

  private async storePart(upload: UploadRow, part: PartInput, sealing: PartSealing, cause: Cause): Promise<{ etag: string; checksum: Checksum | null }> {
    const client = this.backends.require(upload.backend).client;
    const digestsPromise = part.digests();
    digestsPromise.catch(() => undefined);
    const sealed = sealing.dataKey ? sealPart(part.body, sealing.dataKey, part.partNumber) : undefined;
    let backendEtag: string;
    try {
      backendEtag = (await client.uploadPart(upload.storageKey, upload.backendUploadId, part.partNumber, sealed?.body ?? part.body, sealing.storedSize)).etag;
    } catch (err) {
      const bodyError = abandonBody(part.body);
      if (bodyError) throw bodyError;
      if (err instanceof BackendHttpError && err.status === 404) {
        // The backend upload is gone: the upload ended, or moved to another backend meanwhile.
        const now = await loadUpload(this.db, upload.uploadId);
        if (now && now.backend !== upload.backend) throw movedMeanwhile();
        throw new DomainError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
      }
      this.logger.warn({ err, backend: upload.backend }, 'part upload failed');
      throw new DomainError('ServiceUnavailable', 'The backend failed to store the part; please retry.');
    }
    const digests = await digestsPromise;
    const checksum: Checksum | null = digests.checksum ? { algorithm: digests.checksum.algorithm, value: digests.checksum.base64 } : null;
    // A part uploaded again replaces the earlier one's pending bytes (the backend overwrote it).
    const replaced = await this.partSize(upload.uploadId, part.partNumber);
    const storedSize = partStoredSize(sealing.layout, digests.size);
    if (sealed) this.encryption?.counted('encrypt');
    try {
      await this.uploads.recordPart(upload, sealing.layout, {
        uploadId: upload.uploadId, backend: upload.backend, partNumber: part.partNumber, size: digests.size,
        etag: digests.md5Hex, backendEtag, checksum, sha256: digests.sha256Hex ?? null, storedSize, salt: sealed ? sealed.salt() : null,
      }, cause);
    } catch (err) {
      if (err instanceof InvariantViolationError && err.invariant === 'quota') throw new DomainError('InsufficientStorage');
      if (err instanceof InvariantViolationError && err.invariant === 'upload_open') throw new DomainError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
      // Another instance moved the upload while this part went to its old backend: the client retries.
      if (err instanceof InvariantViolationError && err.invariant === 'upload_moved') throw movedMeanwhile();
      throw err;
    }
    this.backends.noteUsage(upload.backend, { pending: storedSize - replaced });
    return { etag: digests.md5Hex, checksum };
  }

  /** The stored bytes of a recorded part of an open upload (its pending bytes); 0 when it has none yet. */
  private async partSize(uploadId: string, partNumber: number): Promise<number> {
    const row = await this.db.query<{ size: string }>('SELECT size FROM usage_pending_parts WHERE upload_id = $1 AND part_number = $2', [uploadId, partNumber]);
    return Number(row.rows[0]?.size ?? 0);
  }

  /** Whether the upload's backend has room for the part's stored bytes (the commit of the part enforces the quota in any case). */
  private async roomForPart(upload: UploadRow, partNumber: number, storedSize: number): Promise<boolean> {
    const candidate = this.backends.candidates(storedSize).find((c) => c.name === upload.backend);
    if (!candidate || availableBytes(candidate) >= storedSize) return true;
    return availableBytes(candidate) + await this.partSize(upload.uploadId, partNumber) >= storedSize;
  }

  /**
   * Validates the part list against the upload's stream, completes the backend upload, and
   * commits the new version atomically with the upload's end, conditional on the stream's
   * revision: a racing Abort, Complete or part upload makes the commit fail, and the loser sees
   * what won. A Complete repeated after the upload completed with the same parts (a client
   * retrying after a timeout) answers the same ETag; with other parts it is NoSuchUpload.
   */
  async complete(
    target: UploadTarget, requested: readonly RequestedPart[], maxObjectSize: number, cause: Cause, precondition?: WritePrecondition,
  ): Promise<{ etag: string; size: number }> {
    let state = await this.openUpload(target);
    if (state.status !== 'open') return completedBefore(state, requested, target.uploadId);
    const created = state.created as UploadCreated;
    // A part's checksum named in the request must be the one it was uploaded with (InvalidPart otherwise).
    const uploaded = [...state.parts.values()].sort((a, b) => a.partNumber - b.partNumber)
      .map((p) => (p.checksum ? { ...p, checksums: { [`Checksum${p.checksum.algorithm}`]: p.checksum.value } } : p));
    const done = completeMultipartUpload(uploaded, requested, { md5: md5Hex, maxObjectSize });
    const stored = storedBytes(done.parts.map((p) => state.parts.get(p.partNumber) as RecordedPart));
    // A conditional Complete that cannot succeed leaves the upload open, as S3 does.
    precondition?.((await this.objects.load(created.bucket, created.key)).current);
    const assembled = state.parts;
    const client = this.backends.require(created.backend).client;
    try {
      await this.gates.end(target.uploadId, () => client.completeMultipartUpload(created.storageKey, created.backendUploadId, done.parts.map((p) => ({
        partNumber: p.partNumber, etag: assembled.get(p.partNumber)?.backendEtag ?? '',
      }))));
    } catch (err) {
      const now = await loadUploadState(this.store, target.uploadId);
      // An Abort or another Complete won meanwhile (the backend upload is gone).
      if (now.status !== 'open') return completedBefore(now, requested, target.uploadId);
      // A retried Complete after the backend finished but our commit did not: the object is there.
      const head = await client.headObject(created.storageKey).catch(() => undefined);
      if (!head || head.contentLength !== stored) {
        this.logger.warn({ err, backend: created.backend }, 'backend could not complete the multipart upload');
        throw new DomainError('ServiceUnavailable', 'The backend could not complete the upload; please retry.');
      }
    }
    const copies = [{ backend: created.backend, storageKey: created.storageKey, size: stored }];
    const usedEtags = new Map(done.parts.map((p) => [p.partNumber, assembled.get(p.partNumber)?.backendEtag ?? '']));
    for (;;) {
      try {
        await this.commitCompletion(state, done, copies, cause, precondition, usedEtags);
        return { etag: done.etag, size: done.totalSize };
      } catch (err) {
        if (!(err instanceof ConcurrencyError && err.streamId === uploadStreamId(target.uploadId))) {
          if (err instanceof DomainError && err.code === 'PreconditionFailed') {
            // A racing writer made the condition false after the backend assembled the object: the
            // upload cannot be completed any more, so it ends here and the assembled bytes are reclaimed.
            await this.endAfterAssembly(target, state, stored, 'conditional_complete_failed', cause);
          }
          throw err;
        }
        const now = await loadUploadState(this.store, target.uploadId);
        // Only parts this Complete did not use changed: it still holds.
        if (now.status === 'open' && done.parts.every((p) => now.parts.get(p.partNumber)?.backendEtag === assembled.get(p.partNumber)?.backendEtag)) {
          state = now;
          continue;
        }
        // Another Complete won: the assembled object is its version's live copy, never an orphan.
        if (now.status === 'completed') return completedBefore(now, requested, target.uploadId);
        await this.endAfterAssembly(target, now, stored, 'complete_lost', cause);
        throw noSuchUpload(target.uploadId);
      }
    }
  }

  /** Appends the new version and the upload's end in one transaction, conditional on the upload's revision. */
  private async commitCompletion(
    state: UploadState, done: CompletedUpload, copies: StoredCopy[], cause: Cause, precondition: WritePrecondition | undefined,
    assembled: ReadonlyMap<number, string>,
  ): Promise<void> {
    const created = state.created as UploadCreated;
    const uploadAppend = (): OtherStreamAppend[] => [this.uploads.completion(state, {
      uploadId: created.uploadId, backend: created.backend, etag: done.etag, size: done.totalSize,
      parts: done.parts.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag })),
    }, assembled)];
    const parts = done.parts.map((p) => {
      const sha256 = state.parts.get(p.partNumber)?.sha256;
      return sha256 ? { partNumber: p.partNumber, size: p.size, sha256 } : { partNumber: p.partNumber, size: p.size };
    });
    const outcome = await this.objects.write(created.bucket, created.key, {
      writeId: created.writeId, size: done.totalSize, etag: done.etag, contentType: created.contentType, metadata: created.metadata,
      headers: created.headers, checksum: null, contentSha256: compositeSha256(parts.map((p) => p.sha256)) ?? null, parts,
      lastModified: this.events.now().toISOString(), copies, origin: 'multipart', uploadId: created.uploadId,
      encryption: completedEnvelope(created.encryption, done, state.parts),
    }, cause, { others: uploadAppend, ...(precondition ? { precondition } : {}) });
    this.backends.noteUsage(created.backend, { pending: -copies.reduce((n, c) => n + c.size, 0) });
    this.writer.afterCommit(outcome, copies, cause);
  }

  /**
   * The backend assembled the object but the Complete cannot commit it: the upload ends (unless
   * something else ended it) and the assembled bytes become an orphan to reclaim.
   */
  private async endAfterAssembly(target: UploadTarget, state: UploadState, size: number, reason: string, cause: Cause): Promise<void> {
    const created = state.created as UploadCreated;
    if (state.status === 'open') await this.close(target, 'client', cause);
    await this.orphans.record(created.backend, created.storageKey, size, reason, cause);
  }

  /**
   * Aborts an open upload: its end is recorded first, conditional on the stream's revision (so
   * a racing Complete and Abort cannot both win), then the backend's upload and its parts are
   * removed (removeBackendUpload: on a backend that cannot abort, by assembling and deleting
   * them). Parts that stay on the backend are recorded as an orphan, so they count against its
   * quota until they are gone. False when the upload was not open.
   */
  async abort(target: UploadTarget, reason: AbortReason, cause: Cause): Promise<boolean> {
    const closed = await this.close(target, reason, cause);
    if (!closed) return false;
    const client = this.backends.get(closed.backend)?.client;
    const outcome: RemovalOutcome = client
      ? await this.gates.end(target.uploadId, () => removeBackendUpload(client, closed, closed.parts))
      : { kind: 'left', status: 0, cannotAbort: false };
    if (outcome.kind === 'assembled') {
      await this.orphans.record(closed.backend, closed.storageKey, closed.bytes, `abort_${reason}`, cause);
    } else if (outcome.kind === 'left') {
      if (outcome.cannotAbort) {
        this.logger.warn({ backend: closed.backend, uploadId: target.uploadId, bytes: closed.bytes }, 'the backend can neither abort the multipart upload nor assemble its parts; they stay on it, counted as an orphan');
      }
      await this.orphans.recordMultipart(closed.backend, closed.storageKey, closed.backendUploadId, closed.bytes, `abort_${reason}`, cause);
    }
    return true;
  }

  /** Closes an upload in the records only (its backend is being removed, its bytes stay there). */
  async forget(target: UploadTarget, cause: Cause): Promise<void> {
    await this.close(target, 'backend-removed', cause);
  }

  /** Appends the upload's abort at its current revision; undefined when it is not open (any more). */
  private async close(target: UploadTarget, reason: AbortReason, cause: Cause): Promise<(UploadCreated & { bytes: number; parts: RecordedPart[] }) | undefined> {
    // A part arriving meanwhile makes the upload decide again on the new state (a Complete that won ends it).
    const state = await this.uploads.abort(target.uploadId, reason, cause, await this.openUpload(target));
    if (!state) return undefined;
    const created = state.created as UploadCreated;
    const parts = [...state.parts.values()];
    const bytes = storedBytes(parts);
    this.backends.noteUsage(created.backend, { pending: -bytes });
    return { ...created, bytes, parts };
  }

  /** The upload's state when it was created for this bucket and key (in any status); NoSuchUpload otherwise. */
  private async openUpload(target: UploadTarget): Promise<UploadState> {
    const state = await loadUploadState(this.store, target.uploadId);
    if (!state.created || state.created.bucket !== target.bucket || state.created.key !== target.key) throw noSuchUpload(target.uploadId);
    return state;
  }
}

const movedMeanwhile = (): DomainError => new DomainError('ServiceUnavailable', 'The upload moved to another backend meanwhile; please retry the part.');

const noSuchUpload = (uploadId: string): DomainError => new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });

/** The answer to a Complete of an upload that is no longer open: the first answer again if it completed with these parts. */
function completedBefore(state: UploadState, requested: readonly RequestedPart[], uploadId: string): { etag: string; size: number } {
  if (state.status === 'completed' && state.completion && completesWithSameParts(state.completion, requested)) {
    return { etag: state.completion.etag, size: state.completion.size };
  }
  throw noSuchUpload(uploadId);
}
