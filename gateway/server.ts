import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerAdminApi } from './admin/admin-api.js';
import { registerDashboard } from './ui/ui-routes.js';
import type { GatewayContext } from './context.js';
import { createRequestProtection } from './protection/request-protection.js';
import { installExpectContinue } from './s3/expect-continue.js';
import { errorBody, XML_CONTENT_TYPE } from './s3/respond.js';
import { handleS3 } from './s3/s3-handler.js';
import { s3ClientErrorHandler } from './s3/client-errors.js';
import { DomainError } from '../domain/errors.js';
import { preflightRefusal } from './s3/preflight.js';
import { requestIdFor, resourceOf } from './s3/s3-request.js';
import { traceS3Requests } from './s3/request-span.js';

/**
 * S3 stores any Content-Type string, even one that is no valid media type (or is empty); fastify
 * would answer those 415 before the S3 handler runs. The S3 handlers read headers from
 * `headersDistinct` (built from the raw header lines), so only fastify's body parsing stops seeing it.
 */
function hideContentType(req: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  delete req.headers['content-type'];
  done();
}

/**
 * The HTTP server: health and metrics endpoints, the admin API, then the S3 API on every other path. S3
 * request bodies are never parsed by fastify: the S3 handlers read them as streams and verify them
 * (only the admin API's scope parses its small JSON bodies).
 */
export async function buildServer(ctx: GatewayContext): Promise<FastifyInstance> {
  const server = ctx.config().server;
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    requestTimeout: server.read_timeout,
    keepAliveTimeout: server.idle_timeout,
    connectionTimeout: 0,
    routerOptions: { maxParamLength: 4096 },
    forceCloseConnections: 'idle',
    clientErrorHandler: s3ClientErrorHandler(ctx.logger),
    frameworkErrors: (err, req, reply) => {
      const e = new DomainError('InvalidRequest', err.message);
      const requestId = requestIdFor(req.raw);
      void (reply as unknown as FastifyReply).code(e.status).header('content-type', XML_CONTENT_TYPE)
        .header('x-amz-request-id', requestId).send(errorBody(e, requestId, resourceOf(req.raw.url ?? '/')));
    },
  });
  app.server.headersTimeout = server.read_header_timeout;
  // write_timeout as the longest a connection may make no progress: a large download may take
  // longer than that in all, and must not be cut off while it moves.
  app.server.timeout = server.write_timeout;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.get('/health', async () => ({ status: ctx.health.databaseHealthy() ? 'ok' : 'degraded' }));
  app.get('/health/ready', async (_req, reply) =>
    ctx.health.ready ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }));
  const metrics = ctx.config().telemetry.metrics;
  if (metrics.enabled && !metrics.listen) {
    app.get(metrics.path, async (_req, reply) =>
      reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.exposition()));
  }
  const protection = createRequestProtection(() => ctx.config(), ctx.metrics);
  protection.start();
  app.addHook('onClose', async () => protection.stop());
  await registerAdminApi(app, ctx.admin, protection);
  const ui = ctx.config().ui;
  if (ui.enabled) await registerDashboard(app, { ui, s3: ctx.s3, admin: ctx.admin, recentLogs: ctx.recentLogs });
  const s3 = ctx.tracer
    ? traceS3Requests(ctx.tracer, (req, reply, requestId) => handleS3(ctx.s3, req, reply, protection, requestId))
    : (req: FastifyRequest, reply: FastifyReply) => handleS3(ctx.s3, req, reply, protection);
  // fastify never looks at a GET's or HEAD's Content-Type: those routes go without the hook (a hook
  // run per request showed in the profile of the small GET).
  app.route({ method: ['GET', 'HEAD'], url: '/', handler: s3 });
  app.route({ method: ['GET', 'HEAD'], url: '/*', handler: s3 });
  app.route({ method: ['PUT', 'POST', 'DELETE'], url: '/', onRequest: hideContentType, handler: s3 });
  app.route({ method: ['PUT', 'POST', 'DELETE'], url: '/*', onRequest: hideContentType, handler: s3 });
  app.route({ method: 'OPTIONS', url: '/', handler: (req, reply) => sendS3Error(req, reply, preflightRefusal(req.raw)) });
  app.route({ method: 'OPTIONS', url: '/*', handler: (req, reply) => sendS3Error(req, reply, preflightRefusal(req.raw)) });
  // Methods S3 has no operation for (PATCH…) still get an S3 error document and a request id.
  app.setNotFoundHandler((req, reply) => sendS3Error(req, reply, new DomainError('MethodNotAllowed')));
  installExpectContinue(app.server, ctx.s3, protection);
  return app;
}

/** An S3 error document for a request the S3 handler does not serve, with a request id; an unread body is not waited for. */
function sendS3Error(req: FastifyRequest, reply: FastifyReply, e: DomainError): FastifyReply {
  const requestId = requestIdFor(req.raw);
  if (!req.raw.readableEnded) {
    reply.header('connection', 'close');
    req.raw.resume();
  }
  return reply.code(e.status).header('content-type', XML_CONTENT_TYPE).header('x-amz-request-id', requestId)
    .send(errorBody(e, requestId, resourceOf(req.raw.url ?? '/')));
}
