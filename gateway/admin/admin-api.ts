import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { RequestProtection } from '../protection/request-protection.js';
import { retryAfterOf } from '../s3/respond.js';
import { requestIdFor } from '../s3/s3-request.js';
import { requireAdminToken } from './admin-auth.js';
import type { AdminContext } from './admin-context.js';
import { adminErrorHandler, sendAdminError } from './admin-errors.js';
import { maxAdminBodyBytes, nulInTarget, parseJsonBody } from './admin-input.js';
import { registerBackendRoutes } from './backend-routes.js';
import { registerCacheRoutes } from './cache-routes.js';
import { registerCleanupRoutes } from './cleanup-routes.js';
import { registerIntegrityRoutes } from './integrity-routes.js';
import { registerEncryptionRoutes } from './encryption-routes.js';
import { registerJobRoutes } from './job-routes.js';
import { registerObjectRoutes } from './object-routes.js';
import { registerReplicationRoutes } from './replication-routes.js';
import { registerRuntimeRoutes } from './runtime-routes.js';
import { registerTraceRoutes } from './trace-routes.js';
import { registerStatusRoute } from './status-route.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** X-Request-Id when given (1–64 hex), else a new id: the correlation id of the command's events. */
    adminRequestId: string;
  }
}

export const adminPrefix = '/admin/api';

/**
 * The admin API under /admin/api, in its own fastify scope: JSON bodies (≤ 1 MiB, the S3 routes
 * never parse bodies), JSON errors `{error, code}` with the catalogue's status, the rate limit
 * (429 with Retry-After, before the token is looked at: it also slows token guessing) and the
 * token check before anything else. Register before the S3 catch-all.
 */
export async function registerAdminApi(app: FastifyInstance, admin: AdminContext, protection: RequestProtection): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxAdminBodyBytes }, parseJsonBody);
    scope.setErrorHandler(adminErrorHandler(admin.logger));
    scope.decorateRequest('adminRequestId', '');
    scope.addHook('onRequest', async (req, reply) => {
      req.adminRequestId = requestIdFor(req.raw);
      void reply.header('x-request-id', req.adminRequestId);
    });
    scope.addHook('onRequest', async (req, reply) => {
      const refusal = protection.admin(req.raw);
      if (!refusal) return undefined;
      const retryAfter = retryAfterOf(refusal);
      if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
      return sendAdminError(reply, refusal);
    });
    scope.addHook('onRequest', requireAdminToken(() => admin.config()));
    scope.addHook('onRequest', async (req, reply) => {
      const refusal = nulInTarget(req.url);
      return refusal ? sendAdminError(reply, refusal) : undefined;
    });

    registerStatusRoute(scope, admin.status);
    registerJobRoutes(scope, admin.jobs);
    registerBackendRoutes(scope, admin.backends);
    registerObjectRoutes(scope, admin.objects);
    registerCleanupRoutes(scope, admin.cleanup);
    registerRuntimeRoutes(scope, admin.runtime);
    registerReplicationRoutes(scope, admin.replication);
    registerIntegrityRoutes(scope, admin.integrity);
    registerCacheRoutes(scope, admin.cache);
    registerEncryptionRoutes(scope, admin.encryption);
    registerTraceRoutes(scope, admin.trace);

    const unknown = async (req: FastifyRequest, reply: FastifyReply) =>
      sendAdminError(reply, new DomainError('NotFound', `no admin endpoint ${req.method} ${req.url.split('?')[0] ?? ''}`));
    scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'], url: '/*', handler: unknown });
    scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'], url: '/', handler: unknown });
  }, { prefix: adminPrefix });
}
