import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { GatewayContext } from './context.js';
import { installExpectContinue } from './s3/expect-continue.js';
import { errorBody, XML_CONTENT_TYPE } from './s3/respond.js';
import { handleS3 } from './s3/s3-handler.js';
import { DomainError } from '../domain/errors.js';
import { requestIdFor, resourceOf } from './s3/s3-request.js';

export interface ServerOptions {
  /** Extra routes (admin API) registered before the S3 catch-all. */
  register?: (app: FastifyInstance) => void | Promise<void>;
}

/**
 * The HTTP server: health and metrics endpoints, then the S3 API on every other path. Request
 * bodies are never parsed by fastify: the S3 handlers read them as streams and verify them.
 */
export async function buildServer(ctx: GatewayContext, opts: ServerOptions = {}): Promise<FastifyInstance> {
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
    frameworkErrors: (err, req, reply) => {
      const e = new DomainError('InvalidRequest', err.message);
      const requestId = requestIdFor(req.raw);
      void (reply as unknown as FastifyReply).code(e.status).header('content-type', XML_CONTENT_TYPE)
        .header('x-amz-request-id', requestId).send(errorBody(e, requestId, resourceOf(req.raw.url ?? '/')));
    },
  });
  app.server.headersTimeout = server.read_header_timeout;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.get('/health', async () => ({ status: ctx.health.databaseHealthy() ? 'ok' : 'degraded' }));
  app.get('/health/ready', async (_req, reply) =>
    ctx.health.ready ? { status: 'ready' } : reply.code(503).send({ status: 'not ready' }));
  const metrics = ctx.config().telemetry.metrics;
  if (metrics.enabled && !metrics.listen) {
    app.get(metrics.path, async (_req, reply) =>
      reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  }
  await opts.register?.(app);
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/', handler: (req, reply) => handleS3(ctx, req, reply) });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', handler: (req, reply) => handleS3(ctx, req, reply) });
  installExpectContinue(app.server, ctx);
  return app;
}
