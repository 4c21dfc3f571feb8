import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { finished, PassThrough, Readable } from 'node:stream';
import { Pool } from 'undici';
import { BufferedResponseHandler, type WholeResponse } from './buffered-response.js';
import { BackendHttpError, BackendNotFoundError, BackendUnavailableError, unavailableFrom } from './errors.js';
import { RequestSigner } from './request-signer.js';
import { buildQueryString, encodeKeyPath, encodeRfc3986 } from './s3-encoding.js';
import { fitToRange } from './range-window.js';
import { parseS3Error } from './s3-xml.js';
import { StreamedResponseHandler, type StreamEnd, type StreamedErrorResponse } from './streamed-response.js';
import type { BackendCallHook, BackendCallOutcome, BackendConnection, BackendOp, ByteRange, GetObjectResult, ReadSignal } from './types.js';
import { endFailed, injectTraceContext, SpanKind, startChildSpan, type Span } from '../telemetry/spans.js';

export interface TransportRequest {
  op: BackendOp;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  key: string;
  query?: Record<string, string>;
  /** Headers to sign and send, lower-case names (host and the SigV4 headers are added). */
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Required for a stream body; a Buffer's length is used otherwise. */
  contentLength?: number;
  payloadHash: string;
  signal?: AbortSignal;
}

/** A streamed GET: its signal need only behave like an AbortSignal (undici never sees it). */
export type OpenRequest = Omit<TransportRequest, 'signal'> & { signal?: ReadSignal };

export interface BufferedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const noQuery: Record<string, string> = Object.freeze({});

/** Error codes that mean the caller (not the backend) broke the exchange. */
const callerSideCodes = new Set([
  'UND_ERR_ABORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ABORT_ERR',
]);

/**
 * The data plane to one backend: an undici keep-alive pool, SigV4 per request, timeouts,
 * error typing and the per-call metering hook. Plain bodies only — never aws-chunked, never
 * `Expect: 100-continue` (undici refuses it, and some backends mishandle it).
 */
export class HttpTransport {
  readonly #name: string;
  readonly #bucket: string;
  readonly #pathStyle: boolean;
  readonly #url: URL;
  readonly #pool: Pool;
  readonly #signer: RequestSigner;
  readonly #onCall: BackendCallHook | undefined;

  constructor(connection: BackendConnection, onCall: BackendCallHook | undefined) {
    const endpoint = new URL(connection.endpoint);
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new TypeError(`backend ${connection.name}: endpoint must be http(s)://host[:port]`);
    }
    this.#name = connection.name;
    this.#bucket = connection.bucket;
    this.#pathStyle = connection.forcePathStyle;
    this.#url = connection.forcePathStyle ? endpoint : new URL(`${endpoint.protocol}//${connection.bucket}.${endpoint.host}`);
    this.#onCall = onCall;
    this.#signer = new RequestSigner(connection.region, connection.accessKeyId, connection.secretAccessKey);
    this.#pool = new Pool(this.#url.origin, {
      connections: 64,
      pipelining: 1,
      connectTimeout: connection.timeoutMs,
      headersTimeout: connection.timeoutMs,
      bodyTimeout: connection.timeoutMs,
    });
  }

  /** `/bucket/key` (path style) or `/key`, each segment RFC 3986-encoded. */
  objectPath(key: string): string {
    return this.#pathStyle ? `/${encodeRfc3986(this.#bucket)}/${encodeKeyPath(key)}` : `/${encodeKeyPath(key)}`;
  }

  /**
   * Sends a request whose response body is small (empty, or an XML document) and reads it whole.
   * A stream body reaches undici through a shield (see `shieldStream`); any other exchange is
   * dispatched with a handler that only collects the answer.
   */
  async send(req: TransportRequest, isOk: (status: number) => boolean): Promise<BufferedResponse> {
    const started = performance.now();
    const bytesOut = bodyLength(req);
    const span = this.#startSpan(req);
    const { path, headers } = this.#prepare(req, bytesOut, span);
    const shielded = req.body instanceof Readable ? shieldStream(req.body) : undefined;
    try {
      const res = shielded
        ? await this.#streamedUpload(req, path, headers, shielded.stream)
        : await new Promise<WholeResponse>((resolve, reject) => {
          this.#pool.dispatch({ method: req.method, path, headers, body: req.body as Buffer | undefined }, new BufferedResponseHandler(resolve, reject, req.signal));
        });
      const ok = isOk(res.status);
      this.#report(req.op, started, outcomeOf(ok, res.status), res.status, res.body.length, bytesOut);
      if (span) endSpan(span, outcomeOf(ok, res.status), res.status);
      return { status: res.status, headers: res.headers, text: res.body.length === 0 ? '' : res.body.toString('utf8') };
    } catch (e) {
      const callerError = shielded?.callerError();
      if (callerError !== undefined) {
        this.#report(req.op, started, 'aborted', 0, 0, 0);
        if (span) endFailed(span, callerError);
        throw callerError;
      }
      const error = this.#failed(req, started, e);
      if (span) endFailed(span, error);
      throw error;
    } finally {
      shielded?.release();
    }
  }

  /** A stream body's exchange: undici's request, which takes a stream body with backpressure. */
  async #streamedUpload(req: TransportRequest, path: string, headers: Record<string, string>, body: PassThrough): Promise<WholeResponse> {
    const res = await this.#pool.request({ method: req.method, path, headers, body, signal: req.signal });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  /**
   * GET with the body streamed to the caller. With `range`, the answer must cover it (a wider one
   * is cut to it); anything but 2xx throws typed.
   */
  async open(req: OpenRequest, range: ByteRange | undefined, wholeUpTo?: number): Promise<GetObjectResult> {
    const started = performance.now();
    const span = this.#startSpan(req);
    const { path, headers } = this.#prepare(req, 0, span);
    return new Promise<GetObjectResult>((resolve, reject) => {
      let status = 0;
      let outcome: BackendCallOutcome = 'ok';
      const handler = new StreamedResponseHandler({
        signal: req.signal,
        wholeUpTo,
        shape: (responseStatus, responseHeaders) => {
          status = responseStatus;
          if (range === undefined) {
            return { status, headers: responseHeaders, contentLength: Number(responseHeaders['content-length'] ?? 0), window: undefined };
          }
          const fitted = fitToRange(range, responseStatus, responseHeaders);
          return typeof fitted === 'string'
            ? new BackendHttpError(this.#name, req.op, responseStatus, 'RangeNotHonoured', fitted)
            : fitted;
        },
        onHead: resolve,
        onErrorResponse: (response) => {
          status = response.status;
          const error = this.httpError(req.op, response);
          outcome = error instanceof BackendNotFoundError ? 'not_found' : 'http_error';
          reject(error);
        },
        onFailure: reject,
        onEnd: (end: StreamEnd) => {
          if (end.kind === 'consumer-aborted') outcome = 'aborted';
          if (end.kind === 'failed') {
            outcome = end.error instanceof BackendUnavailableError ? 'unavailable'
              : end.error instanceof BackendHttpError ? 'http_error' : 'aborted';
          }
          this.#report(req.op, started, outcome, status, end.bytesIn, 0);
          if (span) endSpan(span, outcome, status, end.bytesIn);
        },
        mapError: (e) => this.#classify(req, e),
      });
      this.#pool.dispatch({ method: req.method, path, headers }, handler);
    });
  }

  /** The typed error for a non-accepted status and its (possibly empty) S3 XML error body. */
  httpError(op: BackendOp, response: BufferedResponse | StreamedErrorResponse): BackendHttpError {
    const parsed = parseS3Error(response.text);
    const code = parsed?.code;
    if (response.status === 404 && (code === undefined || code === 'NoSuchKey' || code === 'NoSuchUpload')) {
      return new BackendNotFoundError(this.#name, op, code, parsed?.message);
    }
    return new BackendHttpError(this.#name, op, response.status, code, parsed?.message);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }

  /** `Backend <op>`, a client span, when the call is made for a traced request. */
  #startSpan(req: OpenRequest): Span | undefined {
    const span = startChildSpan(`Backend ${req.op}`, SpanKind.CLIENT);
    span?.setAttributes({ 's3o.backend': this.#name, 'http.request.method': req.method, 'server.address': this.#url.host });
    return span;
  }

  /** Signed headers, and the trace context for a traced call (outside the signature: backends ignore it). */
  #prepare(req: OpenRequest, contentLength: number, span: Span | undefined): { path: string; headers: Record<string, string> } {
    const path = this.objectPath(req.key);
    const query = req.query ?? noQuery;
    const signed = this.#signer.sign({ method: req.method, path, query, headers: { host: this.#url.host, ...req.headers } }, req.payloadHash);
    if (req.body !== undefined) signed['content-length'] = String(contentLength);
    if (span) injectTraceContext(span, signed);
    return { path: path + buildQueryString(query), headers: signed };
  }

  /** The error to throw for a failed exchange: the caller's own failure as is, else typed. */
  #failed(req: TransportRequest, started: number, e: unknown): Error {
    const error = this.#classify(req, e);
    this.#report(req.op, started, error instanceof BackendUnavailableError ? 'unavailable' : 'aborted', 0, 0, 0);
    return error;
  }

  #classify(req: OpenRequest, e: unknown): Error {
    if (req.signal?.aborted) return asError(req.signal.reason, e);
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && callerSideCodes.has(code)) return asError(e, e);
    if (e instanceof BackendHttpError || e instanceof BackendUnavailableError) return e;
    return unavailableFrom(this.#name, req.op, e)
      ?? new BackendUnavailableError(this.#name, req.op, 'other', typeof code === 'string' ? code : undefined);
  }

  #report(op: BackendOp, started: number, outcome: BackendCallOutcome, status: number, bytesIn: number, bytesOut: number): void {
    this.#onCall?.(op, {
      ok: outcome === 'ok', outcome, status, bytesIn, bytesOut: status === 0 ? 0 : bytesOut,
      durationMs: performance.now() - started,
    });
  }
}

const bodyLength = (req: TransportRequest): number =>
  req.body === undefined ? 0 : Buffer.isBuffer(req.body) ? req.body.length : (req.contentLength ?? 0);

function endSpan(span: Span, outcome: BackendCallOutcome, status: number, bytesIn?: number): void {
  const attributes = { 'http.response.status_code': status, 's3o.outcome': outcome, ...(bytesIn === undefined ? {} : { 's3o.bytes_in': bytesIn }) };
  if (outcome === 'ok' || outcome === 'not_found') {
    span.setAttributes(attributes);
    span.end();
  } else endFailed(span, { code: outcome }, attributes);
}

const outcomeOf = (ok: boolean, status: number): BackendCallOutcome =>
  ok ? 'ok' : status === 404 ? 'not_found' : 'http_error';

/**
 * Hands undici a stream of our own instead of the caller's. undici destroys a request body with
 * its own error when the backend fails, which would kill the caller's stream (the gateway's client
 * request, which it still has to answer) and hide whose failure it was. The caller's stream is
 * left as it is on a backend failure; its own failure (error or early close) is recorded first.
 */
function shieldStream(body: Readable): { stream: PassThrough; callerError: () => Error | undefined; release: () => void } {
  const shield = new PassThrough();
  let callerError: Error | undefined;
  const stopWatching = finished(body, (err) => {
    if (!err) return;
    callerError ??= err;
    shield.destroy(err);
  });
  body.pipe(shield);
  return {
    stream: shield,
    callerError: () => callerError,
    release: () => {
      stopWatching();
      body.unpipe(shield);
    },
  };
}

const asError = (value: unknown, fallback: unknown): Error =>
  value instanceof Error ? value : fallback instanceof Error ? fallback : new Error('request aborted by its caller');
