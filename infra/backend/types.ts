import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** One configured S3-compatible backend: where it is, which bucket, and how to sign for it. */
export interface BackendConnection {
  name: string;
  /** `http(s)://host[:port]`, no path. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /**
   * Connect timeout, time to first response byte after the request body was sent, and the
   * longest idle gap while streaming a body in either direction.
   */
  timeoutMs: number;
  /**
   * Payload signing for object bodies. Default (`undefined`/`true`): `UNSIGNED-PAYLOAD`, so bodies
   * stream without being read twice (integrity then rests on TLS and Content-MD5). `false`:
   * Buffer bodies are hashed; a stream body must come with `payloadSha256Hex`, else the call
   * throws a `TypeError` before any I/O.
   */
  unsignedPayload?: boolean;
}

export type BackendOp =
  | 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject'
  | 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload'
  | 'ListObjectsV2' | 'CopyObject' | 'ListMultipartUploads';

/**
 * How a call ended, for metering and circuit breakers: `unavailable` (no answer) and 5xx
 * `http_error`s are the backend's fault; `not_found` is not; `aborted` means our caller gave up
 * (its signal fired, it destroyed a GET body, or its upload stream failed).
 */
export type BackendCallOutcome = 'ok' | 'not_found' | 'http_error' | 'unavailable' | 'aborted';

export interface BackendCallInfo {
  ok: boolean;
  outcome: BackendCallOutcome;
  /** HTTP status, 0 when the backend gave none. */
  status: number;
  /** Response body bytes received (a GET body counts what was actually read off the wire). */
  bytesIn: number;
  /** Request body bytes sent, counted when the backend answered. */
  bytesOut: number;
  durationMs: number;
}

export type BackendCallHook = (op: BackendOp, info: BackendCallInfo) => void;

export interface BackendClientOptions {
  /** Called once per backend call when it has fully ended (for a GET: when its body ended). */
  onCall?: BackendCallHook;
}

export type ObjectBody = Buffer | Readable;

export interface PutObjectOptions {
  contentLength: number;
  contentType?: string;
  contentMd5Base64?: string;
  /** User metadata without the `x-amz-meta-` prefix. Non-ASCII values are sent RFC 2047-encoded. */
  metadata?: Record<string, string>;
  /** Hex SHA-256 of the body when the caller already knows it (signs the payload). */
  payloadSha256Hex?: string;
  signal?: AbortSignal;
}

export interface UploadPartOptions {
  contentMd5Base64?: string;
  payloadSha256Hex?: string;
  signal?: AbortSignal;
}

export interface CreateMultipartUploadOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

/** Inclusive absolute byte range (`bytes=start-end`); suffix ranges are never sent. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a streamed read stops on when its caller goes away: an AbortSignal, or anything that
 * behaves as one in these four members (the gateway's requests pass a cheaper one than an
 * AbortController's, see `ResponseCloseSignal`). `reason` is read only once `aborted` is true.
 */
export interface ReadSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface GetObjectOptions {
  range?: ByteRange;
  signal?: ReadSignal;
  /**
   * A whole read (no range) whose answer declares at most this many bytes is received whole
   * before the result is given, as `bytes`: no stream between undici and the caller.
   */
  wholeUpTo?: number;
}

export interface GetObjectResult {
  /** 200, or 206 when a range was honoured. */
  status: number;
  headers: IncomingHttpHeaders;
  /** With `bytes`, made from them only for a caller that asks for it. */
  body: Readable;
  contentLength: number;
  /** The whole body, when the read asked for it (`wholeUpTo`) and it fitted. */
  bytes?: Buffer;
}

export interface HeadObjectResult {
  contentLength: number;
  /** Without quotes. */
  etag: string;
  lastModified: Date;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

export interface PutResult {
  /** Without quotes: the MD5 hex for a single PUT or part, `<hex>-<n>` after a multipart Complete. */
  etag: string;
}

export interface CompletedPart {
  partNumber: number;
  /** With or without quotes. */
  etag: string;
}

export type AbortMultipartResult =
  | { confirmed: true }
  /** 404: the upload is already gone; 405/501: the backend cannot abort (s3rver answers 405). */
  | { confirmed: false; status: number };

export interface ListObjectsOptions {
  startAfter?: string;
  /** Page size (MaxKeys per request); iteration always continues to the last page. */
  maxKeys?: number;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListedMultipartUpload {
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

export interface MultipartUploadListing {
  /** False when the backend does not implement ListMultipartUploads (s3rver answers 501). */
  supported: boolean;
  uploads: ListedMultipartUpload[];
}
