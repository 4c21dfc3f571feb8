import type { EncryptionKeyLayout } from '../../domain/encryption/envelope.js';
import { decodeEvent } from '../../domain/events/codec.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { evolveUpload, initialUploadState, type UploadState } from '../../domain/uploads/upload-state.js';

export const uploadStreamId = (uploadId: string): string => `upload-${uploadId}`;

/** An upload's state folded from its stream, read in one statement (one consistent revision). */
export async function loadUploadState(store: EventStore, uploadId: string): Promise<UploadState> {
  const read = await store.readStream(uploadStreamId(uploadId));
  let state = initialUploadState;
  for (const recorded of read.events) {
    const event = decodeEvent(recorded.type, recorded.schemaVersion, recorded.data);
    if (event) state = evolveUpload(state, event, recorded.metadata.at ?? recorded.recordedAt);
  }
  return { ...state, revision: read.revision };
}

/**
 * How an upload's parts are encrypted (null: plaintext), from its first event alone: a part
 * needs only this, not the whole stream. Undefined when the upload does not exist.
 */
export async function loadUploadEncryption(store: EventStore, uploadId: string): Promise<EncryptionKeyLayout | null | undefined> {
  const [first] = (await store.readStream(uploadStreamId(uploadId), { maxCount: 1 })).events;
  if (!first) return undefined;
  const event = decodeEvent(first.type, first.schemaVersion, first.data);
  return event?.type === 'MultipartUploadCreated' ? event.data.encryption : undefined;
}
