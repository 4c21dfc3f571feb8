/**
 * Encryption at rest for multipart uploads. An encrypted upload gets its data key when it is
 * created (MultipartUploadCreated.encryption); each part is encrypted as it streams to the
 * backend as its own segment (header with the part number, its own salt, chunks), so the
 * backend's assembled object is the segments back to back and Complete re-encrypts nothing:
 * the version's envelope is the upload's key layout plus one segment per part in order.
 */
import type { Readable } from 'node:stream';
import type { EncryptedSegment, EncryptionEnvelope, EncryptionKeyLayout } from '../../domain/encryption/envelope.js';
import { segmentStoredSize } from '../../domain/encryption/layout.js';
import type { CompletedUpload } from '../../domain/s3/multipart.js';
import type { RecordedPart } from '../../domain/uploads/upload-state.js';
import { DomainError } from '../../domain/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { SegmentEncryptStream, type DataKey } from '../../infra/crypto/index.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';
import { loadUploadEncryption } from './upload-stream.js';
import { relay } from '../../infra/stream-relay.js';

/** Bytes a part of `size` client bytes takes on the backend. */
export function partStoredSize(layout: EncryptionKeyLayout | null, size: number): number {
  return layout ? segmentStoredSize(size, layout.chunkSize, layout.headerLength) : size;
}

/** How one part is stored: plaintext (no layout), or encrypted under its upload's data key. */
export interface PartSealing {
  readonly layout: EncryptionKeyLayout | null;
  readonly dataKey: DataKey | undefined;
  /** The part's bytes on the backend. */
  readonly storedSize: number;
}

/**
 * How a part of `size` bytes of the upload is stored: the upload's encryption (its data key
 * opened once per part) and the part's size on the backend. On failure the part's body is
 * drained, so the client gets the answer.
 */
export async function partSealing(
  store: EventStore, encryption: ObjectEncryption | undefined, uploadId: string, part: { size: number; body: Readable },
): Promise<PartSealing> {
  try {
    const layout = await loadUploadEncryption(store, uploadId);
    if (layout === undefined) throw new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });
    const storedSize = partStoredSize(layout, part.size);
    if (!layout) return { layout, dataKey: undefined, storedSize };
    if (!encryption) throw new DomainError('EncryptionNotConfigured', 'This upload is encrypted at rest, and no encryption key is configured.');
    return { layout, dataKey: await encryption.dataKeyFor(layout), storedSize };
  } catch (err) {
    part.body.resume();
    throw err;
  }
}

/** A part's client bytes encrypted as segment `partNumber`; `salt()` once the body has ended. */
export interface SealedPart {
  readonly body: Readable;
  salt(): string;
}

export function sealPart(body: Readable, dataKey: DataKey, partNumber: number): SealedPart {
  const seal = new SegmentEncryptStream(dataKey, partNumber);
  // An error of the client's body (its verification) ends the stored body with that error.
  relay(body, seal);
  return { body: seal, salt: () => seal.facts().salt };
}

/** Stored bytes of these parts (what the backend holds for them). */
export function storedBytes(parts: Iterable<Pick<RecordedPart, 'storedSize'>>): number {
  let total = 0;
  for (const part of parts) total += part.storedSize;
  return total;
}

/**
 * The envelope of the version a Complete makes: the upload's key layout and, in part order, the
 * segment of each part it names. Null for a plaintext upload. A part without a salt in an
 * encrypted upload cannot be (the upload decider refuses it), so it is an error here.
 */
export function completedEnvelope(
  layout: EncryptionKeyLayout | null, done: CompletedUpload, parts: ReadonlyMap<number, RecordedPart>,
): EncryptionEnvelope | null {
  if (!layout) return null;
  const segments: EncryptedSegment[] = done.parts.map((p) => {
    const salt = parts.get(p.partNumber)?.salt;
    if (!salt) throw new Error(`part ${p.partNumber} of an encrypted upload has no segment salt`);
    return { partNumber: p.partNumber, plainSize: p.size, salt };
  });
  return { ...layout, segments };
}
