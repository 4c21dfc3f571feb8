import { DomainError } from '../errors.js';
import type { OrphanedCopy, StoredCopy } from '../events/common.js';
import type { EventData } from '../events/catalog.js';
import type { ObjectState, ObjectVersion } from './object-state.js';

/** Ids the decider may need, generated outside (the domain has no randomness). */
export interface IdSource {
  cleanupId(): string;
}

/** The new version, how it came to be, and (multipart) the upload it completes. */
export interface WriteObjectCommand extends ObjectVersion {
  origin: 'put' | 'copy' | 'multipart' | 'import';
  uploadId?: string;
}

const orphan = (c: StoredCopy, ids: IdSource): OrphanedCopy => ({ ...c, cleanupId: ids.cleanupId() });

/** A new version replaces the current one; the old version's copies become orphans. */
export function decideWrite(state: ObjectState, cmd: WriteObjectCommand, ids: IdSource): { type: 'ObjectWritten'; data: EventData<'ObjectWritten'> } {
  if (cmd.copies.length === 0) throw new DomainError('InternalError', 'a written version needs at least one copy');
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
    displaced: (state.current?.copies ?? []).map((c) => orphan(c, ids)),
    origin: cmd.origin,
  };
  if (cmd.uploadId !== undefined) data.uploadId = cmd.uploadId;
  return { type: 'ObjectWritten', data };
}

/** Deleting a missing key is not an error in S3: it decides nothing. */
export function decideDelete(
  state: ObjectState,
  reason: EventData<'ObjectDeleted'>['reason'],
  ids: IdSource,
): { type: 'ObjectDeleted'; data: EventData<'ObjectDeleted'> } | undefined {
  if (!state.current) return undefined;
  return {
    type: 'ObjectDeleted',
    data: {
      bucket: state.bucket,
      key: state.key,
      writeId: state.current.writeId,
      size: state.current.size,
      reason,
      displaced: state.current.copies.map((c) => orphan(c, ids)),
      reclaim: reason !== 'backend-removed',
    },
  };
}
