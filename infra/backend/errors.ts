import type { BackendOp } from './types.js';

/**
 * Errors from one backend call. Messages carry the backend name, the operation, the status and
 * the S3 error code/message — never credentials, signatures or request headers.
 */
export abstract class BackendError extends Error {
  readonly backend: string;
  readonly op: BackendOp;

  protected constructor(backend: string, op: BackendOp, message: string, options?: ErrorOptions) {
    super(`backend ${backend}: ${op} ${message}`, options);
    this.backend = backend;
    this.op = op;
  }
}

/** The backend answered with a status the operation does not accept. */
export class BackendHttpError extends BackendError {
  readonly status: number;
  /** S3 error code from the XML body (`SlowDown`, `NoSuchBucket`…), or `Http<status>` without one. */
  readonly code: string;
  /** The S3 error message, if the backend sent one. */
  readonly s3Message: string | undefined;

  constructor(backend: string, op: BackendOp, status: number, code: string | undefined, s3Message: string | undefined) {
    super(backend, op, `failed: ${status} ${code ?? ''}${s3Message ? `: ${s3Message}` : ''}`.trimEnd());
    this.name = 'BackendHttpError';
    this.status = status;
    this.code = code ?? `Http${status}`;
    this.s3Message = s3Message;
  }
}

/**
 * The object (or multipart upload) does not exist: 404 with `NoSuchKey`/`NoSuchUpload` or no body.
 * A 404 `NoSuchBucket` is a misconfigured backend and stays a plain `BackendHttpError`.
 */
export class BackendNotFoundError extends BackendHttpError {
  constructor(backend: string, op: BackendOp, code: string | undefined, s3Message: string | undefined) {
    super(backend, op, 404, code ?? 'NoSuchKey', s3Message);
    this.name = 'BackendNotFoundError';
  }
}

export type UnavailableReason = 'refused' | 'reset' | 'timeout' | 'dns' | 'closed' | 'other';

/** No usable answer: connection refused or reset, DNS failure, timeout, client closed. */
export class BackendUnavailableError extends BackendError {
  readonly reason: UnavailableReason;
  /** The low-level error code (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`…), if any. */
  readonly errorCode: string | undefined;

  constructor(backend: string, op: BackendOp, reason: UnavailableReason, errorCode: string | undefined) {
    super(backend, op, `unavailable: ${reason}${errorCode ? ` (${errorCode})` : ''}`);
    this.name = 'BackendUnavailableError';
    this.reason = reason;
    this.errorCode = errorCode;
  }
}

export const isBackendError = (e: unknown): e is BackendError => e instanceof BackendError;

const reasonByCode: Record<string, UnavailableReason> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'reset',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  EHOSTDOWN: 'refused',
  UND_ERR_CLOSED: 'closed',
  UND_ERR_DESTROYED: 'closed',
};

const errorCodeOf = (e: unknown): string | undefined => {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node's happy-eyeballs connect reports an AggregateError whose parts carry the code.
  const inner = (e as { errors?: unknown }).errors;
  return Array.isArray(inner) ? inner.map(errorCodeOf).find((c) => c !== undefined) : undefined;
};

/** Maps a transport-level failure to `BackendUnavailableError`, or undefined if it is not one. */
export function unavailableFrom(backend: string, op: BackendOp, e: unknown): BackendUnavailableError | undefined {
  const code = errorCodeOf(e);
  const name = e instanceof Error ? e.name : undefined;
  const reason = code !== undefined ? reasonByCode[code] : undefined;
  if (reason) return new BackendUnavailableError(backend, op, reason, code);
  // The SDK's node handler reports its socket timeouts by name.
  if (name === 'TimeoutError') return new BackendUnavailableError(backend, op, 'timeout', code);
  return undefined;
}
