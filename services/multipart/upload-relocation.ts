import { DomainError } from '../../domain/errors.js';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { EventData } from '../../domain/events/catalog.js';
import { availableBytes } from '../../domain/placement/placement.js';
import { versionStorageKey } from '../../domain/objects/storage-keys.js';
import type { RecordedPart, UploadCreated, UploadState } from '../../domain/uploads/upload-state.js';
import { newUlid } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import { cleanupStreamId } from '../cleanup/reclaimer.js';
import type { Cause, EventFactory } from '../event-factory.js';
import type { WritePlacement } from '../placement/write-placement.js';
import type { UploadCommands } from './upload-commands.js';
import { loadUploadState } from './upload-stream.js';

type MovedPart = EventData<'MultipartUploadMoved'>['parts'][number];

const noRoom = (): DomainError => new DomainError('InsufficientStorage');

/**
 * Moves an open multipart upload to another backend when its next part does not fit where it
 * is: the parts so far are assembled on the old backend (the only way S3 lets them be read),
 * copied range by range into a new upload on a backend with room for them and the part, as the
 * same part numbers, and `MultipartUploadMoved` records the new backend upload together with
 * the assembled object left behind as an orphan (one transaction: the quota counts the parts
 * on the new backend and the old bytes until they are deleted). The caller holds the upload's
 * gate alone, so no part of this instance is in flight meanwhile.
 */
export class UploadRelocation {
  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly uploads: UploadCommands,
    private readonly backends: BackendDirectory,
    private readonly placement: WritePlacement,
    private readonly orphans: OrphanRecorder,
    private readonly logger: Logger,
  ) {}

  /**
   * Moves the upload so that part `partNumber` of `size` stored bytes fits beside its other parts (unless
   * it fits where the upload is by now); InsufficientStorage when no backend has room for them all
   * or the old backend cannot assemble the parts.
   */
  async relocate(uploadId: string, partNumber: number, size: number, cause: Cause): Promise<void> {
    const state = await loadUploadState(this.store, uploadId);
    if (state.status !== 'open' || !state.created) throw new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });
    const from = state.created;
    const incoming = Math.max(0, size - (state.parts.get(partNumber)?.storedSize ?? 0));
    const here = this.backends.candidates(incoming).find((c) => c.name === from.backend);
    if (!here || availableBytes(here) >= incoming) return;
    const parts = [...state.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
    const total = parts.reduce((n, p) => n + p.storedSize, 0);
    const targets = this.placement.rankByFreeSpace(total + incoming, new Set([from.backend]))
      .slice(0, 1 + this.placement.failoverAttempts()).map((c) => c.name);
    if (targets.length === 0) throw noRoom();
    if (parts.length > 0 && !(await this.assemble(from, parts))) throw noRoom();
    // Once assembled, the old backend upload is gone: the parts live in the assembled object. If no
    // target takes them, they go back to the old backend, which holds their room already.
    for (const target of parts.length > 0 ? [...targets, from.backend] : targets) {
      const copied = await this.copyTo(target, from, parts);
      if (!copied) continue;
      try {
        await this.record(state, target, copied, total, cause);
      } catch (err) {
        await this.abandon(target, copied);
        if (err instanceof InvariantViolationError && err.invariant === 'quota') continue;
        // The upload ended meanwhile (an Abort, another instance's Complete): what was assembled is left over.
        if (err instanceof DomainError && err.code === 'NoSuchUpload' && parts.length > 0) {
          await this.orphans.record(from.backend, from.storageKey, total, 'upload_moved', cause);
        }
        throw err;
      }
      this.backends.noteUsage(from.backend, { pending: -total, orphan: parts.length > 0 ? total : 0 });
      this.backends.noteUsage(target, { pending: total });
      this.logger.info({ uploadId, from: from.backend, to: target, parts: parts.length, bytes: total }, 'multipart upload moved to a backend with room for its next part');
      if (parts.length === 0) await this.backends.require(from.backend).client.abortMultipartUpload(from.storageKey, from.backendUploadId).catch(() => undefined);
      return;
    }
    this.logger.warn({ uploadId, backend: from.backend }, 'no backend took the parts of a multipart upload being moved');
    throw new DomainError('ServiceUnavailable', 'The upload could not be moved to a backend with room; please retry.');
  }

  /** Completes the old backend upload with the parts so far; false when the backend refuses (e.g. a part below its minimum size). */
  private async assemble(from: UploadCreated, parts: readonly RecordedPart[]): Promise<boolean> {
    try {
      await this.backends.require(from.backend).client.completeMultipartUpload(from.storageKey, from.backendUploadId,
        parts.map((p) => ({ partNumber: p.partNumber, etag: p.backendEtag })));
      return true;
    } catch (err) {
      this.logger.warn({ err, backend: from.backend }, 'the backend could not assemble the parts of a multipart upload to move it');
      return false;
    }
  }

  /** A new upload on `target` holding the assembled parts as the same part numbers; undefined when that failed. */
  private async copyTo(target: string, from: UploadCreated, parts: readonly RecordedPart[]) {
    const writeId = newUlid(this.events.now().getTime());
    const storageKey = versionStorageKey(from.bucket, from.key, writeId);
    const client = this.backends.require(target).client;
    let backendUploadId: string | undefined;
    try {
      backendUploadId = await client.createMultipartUpload(storageKey, { contentType: from.contentType });
      const source = this.backends.require(from.backend).client;
      const moved: MovedPart[] = [];
      let offset = 0;
      // The stored bytes are copied as they are (an encrypted part's segment stays valid: it is bound to its part number, not its place).
      for (const p of parts) {
        const body = p.storedSize === 0
          ? Buffer.alloc(0)
          : (await source.getObject(from.storageKey, { range: { start: offset, end: offset + p.storedSize - 1 } })).body;
        let etag: string;
        try {
          ({ etag } = await client.uploadPart(storageKey, backendUploadId, p.partNumber, body, p.storedSize));
        } catch (err) {
          // The part leaves the range unread: destroyed, its backend connection is freed now, not at its body timeout.
          if (!Buffer.isBuffer(body)) body.destroy();
          throw err;
        }
        moved.push({ partNumber: p.partNumber, size: p.storedSize, backendEtag: etag });
        offset += p.storedSize;
      }
      return { backend: target, backendUploadId, storageKey, writeId, parts: moved };
    } catch (err) {
      this.logger.warn({ err, backend: target }, 'could not copy the parts of a multipart upload being moved; trying another backend');
      if (backendUploadId !== undefined) await client.abortMultipartUpload(storageKey, backendUploadId).catch(() => undefined);
      return undefined;
    }
  }

  private async abandon(target: string, copied: { storageKey: string; backendUploadId: string }): Promise<void> {
    await this.backends.require(target).client.abortMultipartUpload(copied.storageKey, copied.backendUploadId).catch(() => undefined);
  }

  /**
   * The move, decided by the upload decider, and the assembled object left on the old backend
   * (an orphan to delete), in one transaction.
   */
  private async record(
    state: UploadState, target: string,
    copied: { backendUploadId: string; storageKey: string; writeId: string; parts: MovedPart[] }, total: number, cause: Cause,
  ): Promise<void> {
    const from = state.created as UploadCreated;
    const orphan = copied.parts.length === 0 ? [] : [{
      streamId: cleanupStreamId(newUlid(this.events.now().getTime())),
      events: [{ type: 'OrphanRecorded' as const, data: { backend: from.backend, storageKey: from.storageKey, size: total, reason: 'upload_moved', kind: 'object' as const } }],
      expected: 'no_stream' as const,
    }];
    await this.uploads.move({
      uploadId: from.uploadId, from: from.backend, backend: target, backendUploadId: copied.backendUploadId,
      storageKey: copied.storageKey, writeId: copied.writeId, parts: copied.parts,
    }, orphan, cause, state);
  }
}
