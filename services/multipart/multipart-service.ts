import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { newUlid } from '../../infra/ids.js';
import { DomainError } from '../../domain/errors.js';
import type { Checksum, ObjectHeaders } from '../../domain/events/common.js';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore, StreamAppend } from '../../domain/eventstore/port.js';
import { availableBytes, type BackendCandidate } from '../../domain/placement/placement.js';
import { completeMultipartUpload, type RequestedPart } from '../../domain/s3/multipart.js';
import { BackendHttpError } from '../../infra/backend/index.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { countUploads, loadParts, loadUpload, type UploadRow } from '../../projections/read/upload-reads.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { ObjectCommands, WritePrecondition } from '../objects/object-commands.js';
import { abandonBody, type ObjectWriter } from '../objects/object-writer.js';
import { versionStorageKey } from '../../domain/objects/storage-keys.js';

export const uploadStreamId = (uploadId: string): string => `upload-${uploadId}`;
const md5Hex = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

export interface NewUpload {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  maxUploadsPerBucket: number;
}

export interface PartInput {
  partNumber: number;
  size: number;
  body: Readable;
  digests: () => Promise<{ md5Hex: string; size: number; checksum?: { algorithm: Checksum['algorithm']; base64: string } }>;
}

/**
 * Multipart uploads on the backend's native multipart API: parts go straight to the backend
 * (no re-upload at Complete) and count against its quota as pending bytes as they arrive. An
 * upload id is bound to the bucket and key it was created for.
 */
export class MultipartService {
  constructor(
    private readonly db: Queryable,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly backends: BackendDirectory,
    private readonly writer: ObjectWriter,
    private readonly objects: ObjectCommands,
    private readonly orphans: OrphanRecorder,
    private readonly logger: Logger,
  ) {}

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
    const ranked = this.writer.rank(0);
    if (ranked.length === 0) throw new DomainError('InsufficientStorage');
    const uploadId = newUlid(this.events.now().getTime());
    const writeId = newUlid(this.events.now().getTime());
    const storageKey = versionStorageKey(input.bucket, input.key, writeId);
    const { target, client, backendUploadId } = await this.createOnBackend(ranked, storageKey, input.contentType);
    try {
      await this.store.appendToStream(uploadStreamId(uploadId), [this.events.event('MultipartUploadCreated', {
        uploadId, bucket: input.bucket, key: input.key, backend: target.name, backendUploadId, storageKey, writeId,
        contentType: input.contentType, metadata: input.metadata, headers: input.headers, initiatedAt: this.events.now().toISOString(),
      }, cause)], { expected: 'no_stream' });
    } catch (err) {
      await client.abortMultipartUpload(storageKey, backendUploadId).catch(() => undefined);
      throw err;
    }
    return uploadId;
  }

  /** Starts the backend's upload on the first ranked backend that answers (nothing is sent yet, so failing over is free). */
  private async createOnBackend(ranked: readonly BackendCandidate[], storageKey: string, contentType: string) {
    for (const target of ranked) {
      const client = this.backends.require(target.name).client;
      try {
        return { target, client, backendUploadId: await client.createMultipartUpload(storageKey, { contentType }) };
      } catch (err) {
        this.logger.warn({ err, backend: target.name }, 'backend could not start a multipart upload; failing over');
      }
    }
    throw new DomainError('ServiceUnavailable', 'No backend could start the multipart upload; please retry.');
  }

  /** Streams one part to the backend upload, then records it (refused once the upload is closed). */
  async uploadPart(upload: UploadRow, part: PartInput, cause: Cause): Promise<{ etag: string; checksum: Checksum | null }> {
    await this.assertRoomForPart(upload, part);
    const client = this.backends.require(upload.backend).client;
    const digestsPromise = part.digests();
    digestsPromise.catch(() => undefined);
    let backendEtag: string;
    try {
      backendEtag = (await client.uploadPart(upload.storageKey, upload.backendUploadId, part.partNumber, part.body, part.size)).etag;
    } catch (err) {
      const bodyError = abandonBody(part.body);
      if (bodyError) throw bodyError;
      if (err instanceof BackendHttpError && err.status === 404) throw new DomainError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
      this.logger.warn({ err, backend: upload.backend }, 'part upload failed');
      throw new DomainError('ServiceUnavailable', 'The backend failed to store the part; please retry.');
    }
    const digests = await digestsPromise;
    const checksum: Checksum | null = digests.checksum ? { algorithm: digests.checksum.algorithm, value: digests.checksum.base64 } : null;
    try {
      await this.store.appendToStream(uploadStreamId(upload.uploadId), [this.events.event('PartUploaded', {
        uploadId: upload.uploadId, backend: upload.backend, partNumber: part.partNumber, size: digests.size,
        etag: digests.md5Hex, backendEtag, checksum,
      }, cause)], { expected: 'any' });
    } catch (err) {
      if (err instanceof InvariantViolationError && err.invariant === 'quota') throw new DomainError('InsufficientStorage');
      if (err instanceof InvariantViolationError && err.invariant === 'upload_open') throw new DomainError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
      throw err;
    }
    this.backends.noteUsage(upload.backend, { pending: digests.size });
    return { etag: digests.md5Hex, checksum };
  }

  /**
   * Refuses a part its backend has no room for before any byte is sent there (the commit of the
   * part enforces the quota in any case). A re-uploaded part replaces the bytes of the old one.
   */
  private async assertRoomForPart(upload: UploadRow, part: PartInput): Promise<void> {
    const candidate = this.backends.candidates(part.size).find((c) => c.name === upload.backend);
    if (!candidate || availableBytes(candidate) >= part.size) return;
    const old = await this.db.query<{ size: string }>(
      'SELECT size FROM multipart_parts WHERE upload_id = $1 AND part_number = $2', [upload.uploadId, part.partNumber],
    );
    if (availableBytes(candidate) + Number(old.rows[0]?.size ?? 0) >= part.size) return;
    part.body.resume();
    throw new DomainError('InsufficientStorage');
  }

  /** Validates the part list, completes the backend upload, and commits the new version atomically with the upload's end. */
  async complete(
    upload: UploadRow, requested: readonly RequestedPart[], maxObjectSize: number, cause: Cause, precondition?: WritePrecondition,
  ): Promise<{ etag: string; size: number }> {
    const parts = await loadParts(this.db, upload.uploadId);
    // A part's checksum named in the request must be the one it was uploaded with (InvalidPart otherwise).
    const uploaded = parts.map((p) => (p.checksum ? { ...p, checksums: { [`Checksum${p.checksum.algorithm}`]: p.checksum.value } } : p));
    const done = completeMultipartUpload(uploaded, requested, { md5: md5Hex, maxObjectSize });
    // A conditional Complete that cannot succeed leaves the upload open, as S3 does.
    precondition?.((await this.objects.load(upload.bucket, upload.key)).current);
    const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
    const client = this.backends.require(upload.backend).client;
    try {
      await client.completeMultipartUpload(upload.storageKey, upload.backendUploadId, done.parts.map((p) => ({
        partNumber: p.partNumber, etag: byNumber.get(p.partNumber)?.backendEtag ?? '',
      })));
    } catch (err) {
      // A retried Complete after the backend finished but our commit did not: the object is there.
      const head = await client.headObject(upload.storageKey).catch(() => undefined);
      if (!head || head.contentLength !== done.totalSize) {
        this.logger.warn({ err, backend: upload.backend }, 'backend could not complete the multipart upload');
        throw new DomainError('ServiceUnavailable', 'The backend could not complete the upload; please retry.');
      }
    }
    const uploadAppend = (): StreamAppend[] => [{
      streamId: uploadStreamId(upload.uploadId),
      events: [this.events.event('MultipartUploadCompleted', {
        uploadId: upload.uploadId, backend: upload.backend, etag: done.etag, size: done.totalSize,
        parts: done.parts.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag })),
      }, cause)],
      expected: 'stream_exists',
    }];
    const copies = [{ backend: upload.backend, storageKey: upload.storageKey, size: done.totalSize }];
    try {
      const outcome = await this.objects.write(upload.bucket, upload.key, {
        writeId: upload.writeId, size: done.totalSize, etag: done.etag, contentType: upload.contentType, metadata: upload.metadata,
        headers: upload.headers, checksum: null, parts: done.parts.map((p) => ({ partNumber: p.partNumber, size: p.size })),
        lastModified: this.events.now().toISOString(), copies, origin: 'multipart', uploadId: upload.uploadId,
      }, cause, { extra: uploadAppend, ...(precondition ? { precondition } : {}) });
      this.backends.noteUsage(upload.backend, { pending: -done.totalSize });
      this.writer.afterCommit(outcome, copies, cause);
    } catch (err) {
      if (err instanceof InvariantViolationError && err.invariant === 'upload_open') throw new DomainError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
      if (err instanceof DomainError && err.code === 'PreconditionFailed') {
        // A racing writer made the condition false after the backend assembled the object: the
        // upload cannot be completed any more, so it ends here and the assembled bytes are reclaimed.
        await this.store.appendToStream(uploadStreamId(upload.uploadId), [this.events.event('MultipartUploadAborted', {
          uploadId: upload.uploadId, backend: upload.backend, reason: 'client',
        }, cause)], { expected: 'stream_exists' });
        this.backends.noteUsage(upload.backend, { pending: -parts.reduce((n, p) => n + p.size, 0) });
        await this.orphans.record(upload.backend, upload.storageKey, done.totalSize, 'conditional_complete_failed', cause);
      }
      throw err;
    }
    return { etag: done.etag, size: done.totalSize };
  }

  /** Aborts on the backend; if the backend cannot confirm, the parts' bytes become a cleanup item. */
  async abort(upload: UploadRow, reason: 'client' | 'stale' | 'drain' | 'backend-removed', cause: Cause): Promise<void> {
    const client = this.backends.get(upload.backend)?.client;
    const result = client ? await client.abortMultipartUpload(upload.storageKey, upload.backendUploadId).catch(() => ({ confirmed: false as const, status: 0 })) : { confirmed: false as const, status: 0 };
    const parts = await loadParts(this.db, upload.uploadId);
    const bytes = parts.reduce((n, p) => n + p.size, 0);
    await this.store.appendToStream(
      uploadStreamId(upload.uploadId),
      [this.events.event('MultipartUploadAborted', { uploadId: upload.uploadId, backend: upload.backend, reason }, cause)],
      { expected: 'stream_exists' },
    );
    this.backends.noteUsage(upload.backend, { pending: -bytes });
    if (!result.confirmed && (result.status === 405 || result.status === 501)) {
      // Retrying cannot help a backend without AbortMultipartUpload; say so instead of queueing forever.
      this.logger.warn({ backend: upload.backend, uploadId: upload.uploadId }, 'the backend cannot abort multipart uploads; the parts may stay on it');
    } else if (!result.confirmed && result.status !== 404) {
      await this.orphans.recordMultipart(upload.backend, upload.storageKey, upload.backendUploadId, bytes, `abort_${reason}`, cause);
    }
  }

  /** Closes an upload in the records only (its backend is being removed, its bytes stay there). */
  async forget(upload: UploadRow, cause: Cause): Promise<void> {
    await this.store.appendToStream(
      uploadStreamId(upload.uploadId),
      [this.events.event('MultipartUploadAborted', { uploadId: upload.uploadId, backend: upload.backend, reason: 'backend-removed' }, cause)],
      { expected: 'stream_exists' },
    );
  }
}
