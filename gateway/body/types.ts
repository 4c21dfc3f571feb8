import type { Transform } from 'node:stream';
import type { PayloadMode } from '../auth/types.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export interface BodyExpectations {
  payload: PayloadMode;
  /** Content-MD5 header (base64): InvalidDigest if malformed, BadDigest on mismatch. */
  contentMd5?: string;
  /** x-amz-decoded-content-length, for aws-chunked bodies. */
  decodedContentLength?: number;
  /** x-amz-checksum-<algorithm> headers by lower-case name (other keys are ignored). */
  checksumHeaders: Record<string, string>;
  /** x-amz-trailer names, e.g. 'x-amz-checksum-crc32'. */
  trailerNames?: string[];
  /** Largest aws-chunked chunk accepted (bytes); chunks are streamed, never buffered. */
  maxChunkSize?: number;
  /** Compute the SHA-256 of the decoded bytes even when nothing asks to verify one (integrity.enabled). */
  sha256?: boolean;
}

export interface BodyDigests {
  md5Hex: string;
  size: number;
  sha256Hex?: string;
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
}

export interface BodyPipeline {
  /** Raw request body in, verified object bytes out; fails before it ends if verification fails. */
  stream: Transform;
  /** Resolves once the stream has flushed successfully; rejects with the stream's error. */
  digests(): Promise<BodyDigests>;
}
