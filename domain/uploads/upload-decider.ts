import { DomainError } from '../errors.js';
import type { DomainEvent, EventData } from '../events/catalog.js';
import type { UploadState } from './upload-state.js';

/** What can be asked of a multipart upload: its creation, a part, its completion, its abort. */
export type UploadCommand =
  | { type: 'Create'; created: EventData<'MultipartUploadCreated'> }
  | { type: 'RecordPart'; part: EventData<'PartUploaded'> }
  /** `assembled`: the backend ETag of each part number the backend's upload was completed with. */
  | { type: 'Complete'; completion: EventData<'MultipartUploadCompleted'>; assembled: ReadonlyMap<number, string> }
  | { type: 'Abort'; reason: EventData<'MultipartUploadAborted'>['reason'] }
  /** `moved`: the new backend upload holding copies of the parts so far (UploadRelocation). */
  | { type: 'Move'; moved: EventData<'MultipartUploadMoved'> };

type Event<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;
export type UploadEvent = Event<'MultipartUploadCreated' | 'PartUploaded' | 'MultipartUploadCompleted' | 'MultipartUploadAborted' | 'MultipartUploadMoved'>;

const noSuchUpload = (uploadId: string): DomainError => new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });

function requireOpen(state: UploadState, uploadId: string): NonNullable<UploadState['created']> {
  if (state.status !== 'open' || !state.created) throw noSuchUpload(uploadId);
  return state.created;
}

/**
 * An upload is created once; parts are recorded and it is completed only while it is open; a
 * completion stands only for the parts the backend assembled, so a part uploaded again
 * meanwhile refuses it (the client's Complete named bytes that are gone). An open upload moves
 * from the backend it is on, carrying every part recorded so far (a part left behind would be
 * lost). A part is encrypted exactly when its upload is. Aborting an upload that is not open
 * decides nothing. Pure.
 */
export function decideUpload(command: UploadCommand, state: UploadState): UploadEvent[] {
  switch (command.type) {
    case 'Create':
      if (state.status !== 'none') throw new DomainError('Conflict', `upload ${command.created.uploadId} exists already`);
      return [{ type: 'MultipartUploadCreated', data: command.created }];
    case 'RecordPart': {
      const created = requireOpen(state, command.part.uploadId);
      if (command.part.backend !== created.backend) throw new DomainError('InternalError', `part of upload ${created.uploadId} recorded on ${command.part.backend}, not ${created.backend}`);
      // Every part of an encrypted upload is a segment under its data key; a plaintext upload has none.
      if ((created.encryption === null) !== (command.part.salt === null)) {
        throw new DomainError('InternalError', `part ${command.part.partNumber} of upload ${created.uploadId} is ${command.part.salt === null ? 'plaintext' : 'encrypted'}, the upload is not`);
      }
      return [{ type: 'PartUploaded', data: command.part }];
    }
    case 'Complete': {
      requireOpen(state, command.completion.uploadId);
      const unchanged = command.completion.parts.every((p) => state.parts.get(p.partNumber)?.backendEtag === command.assembled.get(p.partNumber));
      if (!unchanged) throw new DomainError('InvalidPart', 'A part was uploaded again while the upload was being completed.');
      return [{ type: 'MultipartUploadCompleted', data: command.completion }];
    }
    case 'Move': {
      const created = requireOpen(state, command.moved.uploadId);
      const { moved } = command;
      if (moved.from !== created.backend) throw new DomainError('InternalError', `upload ${created.uploadId} is on ${created.backend}, not ${moved.from}`);
      const carried = new Map(moved.parts.map((p) => [p.partNumber, p.size]));
      const all = carried.size === state.parts.size && [...state.parts.values()].every((p) => carried.get(p.partNumber) === p.storedSize);
      if (!all) throw new DomainError('ServiceUnavailable', 'The upload received a part while it was being moved; please retry the part.');
      return [{ type: 'MultipartUploadMoved', data: moved }];
    }
    case 'Abort': {
      if (state.status !== 'open' || !state.created) return [];
      return [{ type: 'MultipartUploadAborted', data: { uploadId: state.created.uploadId, backend: state.created.backend, reason: command.reason } }];
    }
  }
}
