import type { Readable } from 'node:stream';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import type { Checksum, ObjectHeaders, StoredCopy } from '../../domain/events/common.js';
import type { Cause } from '../event-factory.js';
import type { WritePrecondition } from './object-commands.js';

/** The write path's contract: what a PUT (or a copy) hands the writer, and what it gets back. */

export interface VerifiedDigests {
  /** '' when it was not computed (stored bytes that the backend checks by `sha256Hex`, or a single streamed copy). */
  md5Hex: string;
  size: number;
  /** SHA-256 of the bytes, when it was computed (integrity.enabled, or the client sent it). */
  sha256Hex?: string;
  checksum?: { algorithm: Checksum['algorithm']; base64: string };
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  /** Declared size of the object bytes (Content-Length or x-amz-decoded-content-length). */
  size: number;
  /** The object bytes, already decoded; it errors before ending if verification fails. */
  body: Readable;
  /** Resolves after `body` ended and every check passed. */
  digests: () => Promise<VerifiedDigests>;
  /**
   * The object bytes whole, once verified: set when the gateway read a small body whole. Whoever
   * buffers the body takes it from here; `body` then streams the same bytes (and drains nothing).
   */
  whole?: () => Promise<Buffer>;
  contentType: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  origin: 'put' | 'copy';
  cause: Cause;
  /** A conditional write (If-Match / If-None-Match): checked before the upload and again at the commit. */
  precondition?: WritePrecondition;
  /**
   * Set when `body` is the encryption of the client's bytes (services/objects/sealed-write.ts):
   * `size` and `digests` then describe the stored bytes, these the client's.
   */
  sealed?: SealedWrite;
  /**
   * The stored bytes whole with their digests, once the body has ended and verified. Set for a
   * buffered encrypted PUT, which seals the client's bytes in one go: `body` is then the client's
   * stream (what a refused write drains) and never stored as it is.
   */
  collected?: () => Promise<{ data: Buffer; digests: VerifiedDigests }>;
}

/** The client's side of an encrypted PUT. */
export interface SealedWrite {
  /** The client's digests (size, MD5 ETag, checksum), once its body has ended and verified. */
  client(): Promise<VerifiedDigests>;
  /** The envelope facts, once the body has ended. */
  envelope(): EncryptionEnvelope;
}

export interface PutObjectResult {
  writeId: string;
  etag: string;
  size: number;
  lastModified: string;
  checksum: Checksum | null;
  copies: StoredCopy[];
}
