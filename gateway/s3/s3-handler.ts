import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { StoreUnavailableError } from '../../domain/eventstore/errors.js';
import { parsePathStyle, rejectNul } from '../../domain/s3/keys.js';
import { authenticate, type AuthResult, type PayloadMode, type Principal, type SigningScope } from '../auth/index.js';
import type { ServerConfig } from '../../domain/config/config.js';
import type { S3Context } from './s3-context.js';
import { wasShed, type RequestProtection } from '../protection/request-protection.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './handlers/bucket-handlers.js';
import { copyObject } from './handlers/copy-object.js';
import { deleteObjects } from './handlers/delete-objects.js';
import { listObjectsV1, listObjectsV2 } from './handlers/list-objects.js';
import {
  abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy,
} from './handlers/multipart-handlers.js';
import { readObject, requireCurrentVersion } from './handlers/read-object.js';
import { deleteObject, putObject } from './handlers/write-object.js';
import { requireOwnBucket } from './bucket-access.js';
import { routeOperation, type S3Operation } from './operations.js';
import { sendError, sendXml, toDomainError } from './respond.js';
import { headersForSignature, queryRecord, rawQueryOf, requestIdFor, resourceOf, type S3Request } from './s3-request.js';
import { S3_NAMESPACE, XML_DECLARATION } from './xml/common.js';
import { ResponseCloseSignal } from './response-close-signal.js';
import type { ReadSignal } from '../../infra/backend/index.js';
import { activeTraceId, inChildSpan, setActiveSpanAttribute, SpanKind } from '../../infra/telemetry/spans.js';
import type { RequestRecord } from '../../services/telemetry/recent-requests.js';
import type { Cause } from '../../services/event-factory.js';
import type { QueryParams } from '../../domain/s3/http-types.js';

/** Up to this many unread request body bytes are drained after an early error answer. */
const drainLimitBytes = 8 * 1024 * 1024;

type Handler = (ctx: S3Context, req: S3Request, reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;

/** Tags are never stored (writes with tags are refused at routing), so an existing object's tag set is empty. */
async function getObjectTagging(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  await requireCurrentVersion(ctx, req.bucket as string, req.key as string);
  return sendXml(reply, 200, `${XML_DECLARATION}<Tagging xmlns="${S3_NAMESPACE}"><TagSet></TagSet></Tagging>`);
}

const handlers: Record<S3Operation, Handler> = {
  ListBuckets: listBuckets,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  ListObjectsV1: listObjectsV1,
  ListObjectsV2: listObjectsV2,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  GetObject: (ctx, req, reply) => readObject(ctx, req, reply, false),
  HeadObject: (ctx, req, reply) => readObject(ctx, req, reply, true),
  PutObject: putObject,
  CopyObject: copyObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  GetObjectTagging: getObjectTagging,
};

export interface RoutedRequest {
  rawUrl: string;
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
  operation: S3Operation;
}

/** Parses and routes a request without reading its body (also used before `100 Continue`). */
export function routeRequest(method: string, rawUrl: string, headers: Record<string, unknown>): RoutedRequest {
  const target = parsePathStyle(rawUrl);
  const query = new URLSearchParams(rawQueryOf(rawUrl));
  if (target.bucket !== undefined) rejectNul(target.bucket, 'bucket');
  if (target.key !== undefined) rejectNul(target.key, 'key');
  for (const [name, value] of query) {
    rejectNul(name, 'query');
    rejectNul(value, name);
  }
  const operation = routeOperation(method, target.bucket, target.key, query, headers);
  return { rawUrl, method, bucket: target.bucket, key: target.key, query, operation };
}

/** Authenticates and binds the credential to the addressed bucket. */
/** One signing scope per configuration: `server.region` and `server.additional_regions`. */
const signingScopes = new WeakMap<ServerConfig, SigningScope>();
function signingScopeOf(server: ServerConfig): SigningScope {
  let scope = signingScopes.get(server);
  if (!scope) signingScopes.set(server, (scope = { regions: new Set([server.region, ...server.additional_regions]), primary: server.region }));
  return scope;
}

export function authorize(ctx: Pick<S3Context, 'config' | 'credentials' | 'signingKeys'>, routed: RoutedRequest, headers: NodeJS.Dict<string | string[]>, nowMs: number) {
  const auth = authenticate(
    { method: routed.method, rawUrl: routed.rawUrl, headers, nowMs }, ctx.credentials, ctx.signingKeys, signingScopeOf(ctx.config().server),
  );
  // Buckets are configured, not created: asking to create another one is refused, not "missing".
  if (routed.bucket !== undefined && routed.operation !== 'CreateBucket') requireOwnBucket(ctx, routed.bucket, auth.principal.bucket, 'this bucket');
  else if (routed.bucket !== undefined && routed.bucket !== auth.principal.bucket) {
    throw new DomainError('AccessDenied', 'Buckets are defined in the configuration; they cannot be created through S3.');
  }
  return auth;
}

export type AuditStage = 'protection' | 'routing' | 'authentication' | 'operation';

/** `s3.<Operation>`, or what refused the request before its operation ran. */
export function auditEvent(stage: AuditStage, failure: DomainError | undefined, operation: string): string {
  if (!failure || stage === 'operation') return `s3.${operation}`;
  if (stage === 'protection') return failure.code === 'RateLimitExceeded' ? 's3.RateLimitRejected' : wasShed(failure) ? 's3.LoadShed' : 's3.AdmissionRejected';
  if (stage === 'authentication') return 's3.AuthFailure';
  return failure.code === 'MethodNotAllowed' ? 's3.MethodNotAllowed' : 's3.InvalidRequest';
}

function declaredBytes(value: unknown): number {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Refusals with their own counters: usage limits, and writes refused while the database is down. */
function countRefusal(ctx: S3Context, operation: string, err: unknown): void {
  if (err instanceof DomainError && err.code === 'UsageLimitExceeded') ctx.metrics.usageLimitRejections.inc({ operation });
  else if (err instanceof StoreUnavailableError) ctx.metrics.degradedWriteRejections.inc({ operation });
}

/** An S3 request as the handlers get it: a class, so a request makes no getter closure of its own. */
class RoutedS3Request implements S3Request {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly query: URLSearchParams;
  readonly params: QueryParams;
  readonly operation: S3Operation;
  readonly principal: Principal;
  readonly payload: PayloadMode;
  readonly cause: Cause;
  #signal: ResponseCloseSignal | undefined;

  constructor(
    readonly id: string, readonly method: string, readonly raw: IncomingMessage, readonly rawUrl: string, routed: RoutedRequest,
    auth: AuthResult, readonly nowMs: number, private readonly response: ServerResponse,
  ) {
    this.bucket = routed.bucket;
    this.key = routed.key;
    this.query = routed.query;
    this.params = queryRecord(routed.query);
    this.operation = routed.operation;
    this.principal = auth.principal;
    this.payload = auth.payload;
    this.cause = { actor: auth.principal.accessKeyId, correlationId: id };
  }

  /** Made on first use, by operations that pass it to a backend call: most requests never need one. */
  get signal(): ReadSignal {
    this.#signal ??= new ResponseCloseSignal(this.response);
    return this.#signal;
  }
}

/** The S3 entry point: admission and rate limit, route, authenticate, run the operation, answer S3 XML errors. */
export async function handleS3(
  ctx: S3Context, request: FastifyRequest, reply: FastifyReply, protection: RequestProtection, requestId = requestIdFor(request.raw),
): Promise<FastifyReply> {
  const raw = request.raw;
  const rawUrl = raw.url ?? '/';
  const method = raw.method ?? 'GET';
  reply.header('x-amz-request-id', requestId);
  const started = performance.now();
  const traceId = activeTraceId();
  let operation = 'unknown';
  let stage: AuditStage = 'protection';
  let failure: DomainError | undefined;
  let routed: RoutedRequest | undefined;
  let accessKeyId: string | undefined;
  ctx.metrics.inflight.inc();
  // Set once the handler has let go of the request; `afterHandler` is set only by a connection
  // that closed before then (a promise per request for that rare case showed in the profile).
  let handlerDone = false;
  let afterHandler: (() => void) | undefined;
  let clientClosed = false;
  // 'close' is emitted once: `on` spares the wrapper `once` makes.
  reply.raw.on('close', () => {
    ctx.metrics.inflight.dec();
    const ms = performance.now() - started;
    // From fastify's own header map, not the socket's: a Buffer answer is written with
    // writeHead(status, headers), which leaves nothing for res.getHeader (cache hits and small GETs
    // counted 0 bytes). A HEAD's Content-Length is the GET's: it sends no body.
    const responseBytes = method === 'HEAD' ? 0 : declaredBytes(reply.getHeader('content-length'));
    ctx.metrics.requests.request(method, operation, reply.raw.statusCode, ms / 1000,
      declaredBytes(raw.headers['x-amz-decoded-content-length'] ?? raw.headers['content-length']), responseBytes);
    const record: RequestRecord = {
      requestId, event: auditEvent(stage, failure, operation), method, bucket: routed?.bucket, key: routed?.key, status: reply.raw.statusCode,
      accessKeyId, remoteAddress: raw.socket.remoteAddress, durationMs: ms, startedAtMs: performance.timeOrigin + started,
      errorCode: failure?.code, traceId, complete: reply.raw.writableFinished,
    };
    ctx.audit.request(record);
    ctx.recentRequests.record(record);
    if (reply.raw.writableFinished) return;
    // The connection closed before the response was complete (the client went away, or stalled past
    // write_timeout): an everyday event, told once at info without a stack, after the handler let
    // go of the request, so it is the request's last line.
    clientClosed = true;
    const tell = () => ctx.logger.info({ requestId, method, operation, resource: resourceOf(rawUrl) }, 'connection closed before the response was complete');
    if (handlerDone) tell();
    else afterHandler = tell;
  });
  try {
    let refusal = protection.s3(raw, reply.raw);
    if (refusal instanceof Promise) refusal = await refusal;
    if (refusal) throw refusal;
    stage = 'routing';
    routed = routeRequest(method, rawUrl, raw.headers);
    operation = routed.operation;
    setActiveSpanAttribute('s3o.operation', operation);
    const nowMs = Date.now();
    stage = 'authentication';
    const auth = authorize(ctx, routed, headersForSignature(raw), nowMs);
    stage = 'operation';
    accessKeyId = auth.principal.accessKeyId;
    const req = new RoutedS3Request(requestId, method, raw, rawUrl, routed, auth, nowMs, reply.raw);
    const operationStarted = performance.now();
    try {
      const handler = handlers[routed.operation];
      const answered = await inChildSpan(`S3 ${operation}`, SpanKind.INTERNAL, undefined, () => handler(ctx, req, reply));
      ctx.metrics.requests.operation(method, operation, (performance.now() - operationStarted) / 1000, true);
      return answered;
    } catch (err) {
      ctx.metrics.requests.operation(method, operation, (performance.now() - operationStarted) / 1000, false);
      throw err;
    }
  } catch (err) {
    // A request the client abandoned (the connection closed, the body cut off) failed because of
    // that: nobody reads the answer, and the 'close' listener above tells of it.
    if (clientClosed || reply.raw.destroyed || raw.errored) {
      reply.raw.destroy();
      return reply;
    }
    countRefusal(ctx, operation, err);
    const e = toDomainError(err, ctx.logger);
    failure = e;
    setActiveSpanAttribute('s3o.error_code', e.code);
    if (!raw.readableEnded) {
      // The body was not read. A small rest is drained, so the client finishes sending and reads the
      // answer on a healthy connection (closing under a writing client makes it fail with EPIPE
      // instead of seeing the error); a large one is not worth receiving: the connection closes.
      const length = Number(raw.headers['content-length'] ?? Number.POSITIVE_INFINITY);
      if (!(length <= drainLimitBytes)) reply.header('connection', 'close');
      raw.resume();
    }
    if (reply.sent) {
      reply.raw.destroy();
      return reply;
    }
    return sendError(reply, e, requestId, resourceOf(rawUrl), method === 'HEAD');
  } finally {
    handlerDone = true;
    afterHandler?.();
  }
}
