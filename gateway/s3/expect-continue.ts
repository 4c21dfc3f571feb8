import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DomainError } from '../../domain/errors.js';
import type { S3Context } from './s3-context.js';
import type { Refusal, RequestProtection } from '../protection/request-protection.js';
import { errorBody, retryAfterOf, toDomainError, XML_CONTENT_TYPE } from './respond.js';
import { auditEvent, authorize, routeRequest, type AuditStage, type RoutedRequest } from './s3-handler.js';
import { requestIdFor, resourceOf } from './s3-request.js';

function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'];
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** How far the precheck got: what the audit line of a refusal says. */
interface Progress {
  stage: AuditStage;
  routed?: RoutedRequest;
}

/** Throws the error an upload would end with, when it can be known before its body. */
function precheck(ctx: S3Context, req: IncomingMessage, progress: Progress): void {
  progress.stage = 'routing';
  const routed = routeRequest(req.method ?? 'PUT', req.url ?? '/', req.headers);
  progress.routed = routed;
  if (routed.operation !== 'PutObject' && routed.operation !== 'UploadPart') return;
  progress.stage = 'authentication';
  authorize(ctx, routed, req.headersDistinct, Date.now());
  progress.stage = 'operation';
  const size = declaredLength(req);
  if (size === undefined) return;
  const max = ctx.config().server.max_object_size;
  if (size > max) throw new DomainError('EntityTooLarge', undefined, { ProposedSize: size, MaxSizeAllowed: max });
  if (routed.operation === 'PutObject' && ctx.placement.rank(size).length === 0) throw new DomainError('InsufficientStorage');
}

/**
 * Answers `Expect: 100-continue` uploads before their body is sent: a full server, a client over
 * its rate, bad credentials, an object over the size limit, or no backend with room get their
 * error at once, so a client does not push gigabytes only to be refused. Everything else gets
 * 100 Continue and is served normally (holding the admission slot taken here). A refusal here
 * is audited like one after the body would have been (`s3.AuthFailure`, `s3.AdmissionRejected`…).
 */
export function installExpectContinue(server: Server, ctx: S3Context, protection: RequestProtection): void {
  const proceed = (req: IncomingMessage, res: ServerResponse, refusal: Refusal, started: number): void => {
    if (res.closed) return;
    const progress: Progress = { stage: 'protection' };
    try {
      if (refusal) throw refusal;
      precheck(ctx, req, progress);
    } catch (err) {
      const e = toDomainError(err, ctx.logger);
      ctx.metrics.earlyRejections.inc({ code: e.s3Code });
      const requestId = requestIdFor(req);
      ctx.audit.request({
        requestId, event: auditEvent(progress.stage, e, progress.routed?.operation ?? 'unknown'), method: req.method ?? 'PUT',
        bucket: progress.routed?.bucket, key: progress.routed?.key, status: e.status, accessKeyId: undefined,
        remoteAddress: req.socket.remoteAddress, durationMs: performance.now() - started,
      });
      const body = errorBody(e, requestId, resourceOf(req.url ?? '/'));
      const retryAfter = retryAfterOf(e);
      res.writeHead(e.status, {
        'content-type': XML_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close', 'x-amz-request-id': requestId,
        ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
      });
      res.end(body);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  };
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const refusal = protection.s3(req, res);
    if (refusal instanceof Promise) void refusal.then((r) => proceed(req, res, r, started));
    else proceed(req, res, refusal, started);
  });
}
