import type { DomainEvent, EventData } from '../events/catalog.js';
import { unquoteEtag } from '../s3/etag.js';
import type { RequestedPart } from '../s3/multipart.js';

export type UploadCreated = EventData<'MultipartUploadCreated'>;
export type RecordedPart = Omit<EventData<'PartUploaded'>, 'uploadId' | 'backend'> & { uploadedAt: string };
export type UploadCompletion = Pick<EventData<'MultipartUploadCompleted'>, 'etag' | 'size' | 'parts'>;

/**
 * A multipart upload as its stream `upload-<id>` defines it: how it was created, the latest
 * upload of each part number, and how it ended. The stream revision is the compare-and-swap
 * token of every change (a part, the completion, the abort), so a Complete and an Abort racing
 * on one upload cannot both commit.
 */
export interface UploadState {
  revision: bigint | 'no_stream';
  created: UploadCreated | undefined;
  parts: ReadonlyMap<number, RecordedPart>;
  status: 'none' | 'open' | 'completed' | 'aborted';
  completion: UploadCompletion | undefined;
}

export const initialUploadState: UploadState = { revision: 'no_stream', created: undefined, parts: new Map(), status: 'none', completion: undefined };

/** Folds one event of the upload's stream (`at`: when it was recorded) into its state. */
export function evolveUpload(state: UploadState, event: DomainEvent, at: string): UploadState {
  const revision = state.revision === 'no_stream' ? 0n : state.revision + 1n;
  switch (event.type) {
    case 'MultipartUploadCreated':
      return { ...state, revision, created: event.data, status: 'open' };
    case 'PartUploaded': {
      const { uploadId: _u, backend: _b, ...part } = event.data;
      const parts = new Map(state.parts);
      parts.set(part.partNumber, { ...part, uploadedAt: at });
      return { ...state, revision, parts };
    }
    case 'MultipartUploadCompleted':
      return { ...state, revision, status: 'completed', completion: { etag: event.data.etag, size: event.data.size, parts: event.data.parts } };
    case 'MultipartUploadAborted':
      return { ...state, revision, status: 'aborted' };
    case 'MultipartUploadMoved': {
      if (!state.created) return { ...state, revision };
      const d = event.data;
      const parts = new Map<number, RecordedPart>();
      for (const moved of d.parts) {
        const part = state.parts.get(moved.partNumber);
        if (part) parts.set(moved.partNumber, { ...part, backendEtag: moved.backendEtag });
      }
      const created = { ...state.created, backend: d.backend, backendUploadId: d.backendUploadId, storageKey: d.storageKey, writeId: d.writeId };
      return { ...state, revision, created, parts };
    }
    default:
      return { ...state, revision };
  }
}

const sameEtag = (a: string, b: string): boolean => unquoteEtag(a.trim()).toLowerCase() === unquoteEtag(b.trim()).toLowerCase();

/**
 * Whether a CompleteMultipartUpload names exactly the parts an upload was completed with (same
 * numbers, same ETags, same order): then a repeated Complete — a client retrying after a
 * timeout — gets the same answer as the first.
 */
export function completesWithSameParts(completion: UploadCompletion, requested: readonly RequestedPart[]): boolean {
  return completion.parts.length === requested.length &&
    completion.parts.every((p, i) => p.partNumber === requested[i]?.partNumber && sameEtag(p.etag, requested[i]?.etag ?? ''));
}
