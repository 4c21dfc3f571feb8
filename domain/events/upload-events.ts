import { z } from 'zod';
import { EncryptedSegment, EncryptionKeyLayout } from '../encryption/envelope.js';
import { Checksum, IsoTime, ObjectHeaders, Sha256Hex } from './common.js';

export const MultipartUploadCreated = z.object({
  uploadId: z.string(),
  bucket: z.string(),
  key: z.string(),
  backend: z.string(),
  backendUploadId: z.string(),
  /** The backend object the parts will become; also the written version's storage key. */
  storageKey: z.string(),
  writeId: z.string(),
  contentType: z.string(),
  metadata: z.record(z.string(), z.string()),
  headers: ObjectHeaders,
  initiatedAt: IsoTime,
  /**
   * The upload's data key (wrapped) and layout when its parts are encrypted at rest, null for
   * plaintext. Each part is then its own segment under this key, and Complete joins them into
   * the version's envelope without re-encrypting. New in version 2: an older build must refuse
   * it rather than store an encrypted upload's parts in clear.
   */
  encryption: EncryptionKeyLayout.nullable(),
});

export const PartUploaded = z.object({
  uploadId: z.string(),
  backend: z.string(),
  partNumber: z.number().int().min(1).max(10000),
  size: z.number().int().nonnegative(),
  /** MD5 hex of the part as the client sent it. */
  etag: z.string(),
  /** ETag the backend gave the part, needed to complete the backend's upload. */
  backendEtag: z.string(),
  checksum: Checksum.nullable(),
  /** SHA-256 hex of the part as the client sent it; null when integrity was off. New in version 2. */
  sha256: Sha256Hex.nullable(),
  /**
   * Bytes the part takes on the backend: `size` for plaintext, its encrypted segment's length
   * (header and chunk tags included) when the upload is encrypted. Quotas count these. New in
   * version 3.
   */
  storedSize: z.number().int().nonnegative(),
  /** The random salt of the part's encrypted segment (base64), null for plaintext. New in version 3. */
  salt: EncryptedSegment.shape.salt.nullable(),
});

export const MultipartUploadCompleted = z.object({
  uploadId: z.string(),
  backend: z.string(),
  etag: z.string(),
  size: z.number().int().nonnegative(),
  parts: z.array(z.object({ partNumber: z.number().int(), size: z.number().int(), etag: z.string() })),
});

export const MultipartUploadAborted = z.object({
  uploadId: z.string(),
  backend: z.string(),
  reason: z.enum(['client', 'stale', 'drain', 'backend-removed']),
  /** Set when the backend did not confirm the abort: the parts' bytes are an orphan to clean. */
  cleanupId: z.string().optional(),
});

/**
 * The upload continues on another backend (its next part did not fit where it was): its parts so
 * far were assembled on the old backend and copied into a new backend upload as the same part
 * numbers. The parts listed are the upload's parts from now on; the version it will complete to
 * gets a new write id and storage key there.
 */
export const MultipartUploadMoved = z.object({
  uploadId: z.string(),
  from: z.string(),
  backend: z.string(),
  backendUploadId: z.string(),
  storageKey: z.string(),
  writeId: z.string(),
  parts: z.array(z.object({
    partNumber: z.number().int().min(1).max(10000),
    /** The part's bytes as stored (copied as they are): its `storedSize`, which is `size` for plaintext. */
    size: z.number().int().nonnegative(),
    backendEtag: z.string(),
  })),
});

export const uploadEvents = {
  MultipartUploadCreated: { version: 2, schema: MultipartUploadCreated },
  PartUploaded: { version: 3, schema: PartUploaded },
  MultipartUploadCompleted: { version: 1, schema: MultipartUploadCompleted },
  MultipartUploadAborted: { version: 1, schema: MultipartUploadAborted },
  MultipartUploadMoved: { version: 1, schema: MultipartUploadMoved },
} as const;
