import { context } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { endFailed, startRequestSpan, type RequestTracer } from '../../infra/telemetry/spans.js';
import { requestIdFor, resourceOf } from './s3-request.js';

type S3Route = (request: FastifyRequest, reply: FastifyReply, requestId: string) => Promise<FastifyReply>;

/**
 * Runs an S3 request in its server span `HTTP <method>`, ended when the response is done (its
 * body streamed) or the connection closed. Attributes name the path, never the query (a
 * presigned URL's signature is there) nor any header. A request the sampler leaves out, that
 * brings no caller's trace to pass on, runs outside any trace context, as with tracing off.
 */
export function traceS3Requests(tracer: RequestTracer, route: S3Route): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return (request, reply) => {
    const raw = request.raw;
    const requestId = requestIdFor(raw);
    const method = raw.method ?? 'GET';
    const traced = startRequestSpan(tracer, `HTTP ${method}`, raw.headers, requestId, () => ({
      'http.request.method': method, 'url.path': resourceOf(raw.url ?? '/'), 'network.peer.address': raw.socket.remoteAddress ?? '',
    }));
    if (traced === undefined) return route(request, reply, requestId);
    const { span, done } = traced;
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode;
      const attributes = { 'http.response.status_code': status };
      if (!reply.raw.writableFinished) endFailed(span, { code: 'ConnectionClosed' }, attributes);
      else if (status >= 500) endFailed(span, { code: String(status) }, attributes);
      else {
        span.setAttributes(attributes);
        span.end();
      }
      done();
    });
    return context.with(traced.context, () => route(request, reply, requestId));
  };
}
