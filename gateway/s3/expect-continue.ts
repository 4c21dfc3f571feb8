import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DomainError } from '../../domain/errors.js';
import type { S3Context } from './s3-context.js';
import type { Refusal, RequestProtection } from '../protection/request-protection.js';
import { errorBody, retryAfterOf, toDomainError, XML_CONTENT_TYPE } from './respond.js';
import { authorize, routeRequest } from './s3-handler.js';
import { requestIdFor, resourceOf } from './s3-request.js';

function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'];
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Throws the error an upload would end with, when it can be known before its body. */
function precheck(ctx: S3Context, req: IncomingMessage): void {
  const routed = routeRequest(req.method ?? 'PUT', req.url ?? '/', req.headers);
  if (routed.operation !== 'PutObject' && routed.operation !== 'UploadPart') return;
  authorize(ctx, routed, req.headersDistinct, Date.now());
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
 * 100 Continue and is served normally (holding the admission slot taken here).
 */
export function installExpectContinue(server: Server, ctx: S3Context, protection: RequestProtection): void {
  const proceed = (req: IncomingMessage, res: ServerResponse, refusal: Refusal): void => {
    if (res.closed) return;
    try {
      if (refusal) throw refusal;
      precheck(ctx, req);
    } catch (err) {
      const e = toDomainError(err, ctx.logger);
      ctx.metrics.earlyRejections.inc({ code: e.s3Code });
      const requestId = requestIdFor(req);
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
    const refusal = protection.s3(req, res);
    if (refusal instanceof Promise) void refusal.then((r) => proceed(req, res, r));
    else proceed(req, res, refusal);
  });
}
