import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { DomainError } from '../../domain/errors.js';
import type { UiConfig } from '../../domain/config/config.js';
import type { LogRing } from '../../infra/telemetry/log-ring.js';
import type { AdminContext } from '../admin/admin-context.js';
import { sendAdminError, toAdminError } from '../admin/admin-errors.js';
import type { S3Context } from '../s3/s3-context.js';
import { requestIdFor } from '../s3/s3-request.js';
import { registerClusterActions } from './actions/cluster-actions.js';
import { registerObjectActions } from './actions/object-actions.js';
import { errorPage } from './layout.js';
import { LoginThrottle } from './login-throttle.js';
import { backendsJson, backendsPage } from './pages/backends-page.js';
import { historyPage } from './pages/history-page.js';
import { jobsJson, jobsPage } from './pages/jobs-page.js';
import { logsPage, recentLines } from './pages/logs-page.js';
import { objectsPage, treeJson } from './pages/objects-page.js';
import { addSecurityHeaders } from './security-headers.js';
import { SessionSigner, type UiSession } from './session.js';
import { installAuthHooks, registerLoginRoutes } from './ui-auth.js';
import { uiUrl, type Flash, type UiContext } from './ui-context.js';

/** Form posts are small; an upload is multipart and streamed instead. */
const maxFormBytes = 64 * 1024;

const assets: Record<string, string> = { 'dashboard.css': 'text/css; charset=utf-8', 'dashboard.js': 'text/javascript; charset=utf-8' };

function loadAssets(): Map<string, Buffer> {
  return new Map(Object.keys(assets).map((name) => [name, readFileSync(new URL(`./assets/${name}`, import.meta.url))]));
}

function takeFlash(ctx: UiContext, session: UiSession): Flash | undefined {
  const flash = ctx.flashes.get(session.id);
  ctx.flashes.delete(session.id);
  return flash;
}

function sessionFor(req: FastifyRequest): UiSession {
  if (!req.uiSession) throw new DomainError('Unauthorized', 'sign in first');
  return req.uiSession;
}

const sendHtml = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').send(body);

function errorHandler(ctx: UiContext) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const e = toAdminError(err, ctx.admin.logger);
    if (req.url.startsWith(uiUrl(ctx, '/api/')) || !req.uiSession) return sendAdminError(reply, e);
    return sendHtml(reply.code(e.status), errorPage(ctx, req.uiSession, e.status, e.message));
  };
}

export interface DashboardDeps {
  ui: UiConfig;
  s3: S3Context;
  admin: AdminContext;
  recentLogs: LogRing;
}

/**
 * The web dashboard under `ui.path`, server-rendered, in its own fastify scope: security headers
 * on every answer, a session on every request but the login and the static files, a CSRF token
 * on every POST. Register before the S3 catch-all.
 */
export async function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const ui = deps.ui;
  const ctx: UiContext = {
    ...deps, sessions: new SessionSigner(ui.session_secret ?? ''), throttle: new LoginThrottle(), flashes: new Map(),
  };
  const files = loadAssets();
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: maxFormBytes },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
    await scope.register(multipart, { limits: { fields: 10, fieldSize: 4096, files: 1, parts: 12, fileSize: ctx.s3.config().server.max_object_size + 1 } });
    scope.setErrorHandler(errorHandler(ctx));
    scope.decorateRequest('adminRequestId', '');
    scope.addHook('onRequest', async (req) => {
      req.adminRequestId = requestIdFor(req.raw);
    });
    scope.addHook('onRequest', addSecurityHeaders);
    installAuthHooks(scope, ctx);
    registerLoginRoutes(scope, ctx);

    scope.get('/assets/:name', { config: { uiAccess: 'public' } }, async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const file = files.get(name);
      if (!file) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
      return reply.header('cache-control', 'no-cache').type(assets[name] ?? 'application/octet-stream').send(file);
    });

    scope.get('/', async (_req, reply) => reply.code(303).header('location', uiUrl(ctx, '/backends')).send());
    scope.get('/backends', async (req, reply) => {
      const session = sessionFor(req);
      return sendHtml(reply, await backendsPage(ctx, session, takeFlash(ctx, session)));
    });
    scope.get('/jobs', async (req, reply) => {
      const session = sessionFor(req);
      return sendHtml(reply, await jobsPage(ctx, session, takeFlash(ctx, session)));
    });
    scope.get('/objects', async (req, reply) => {
      const session = sessionFor(req);
      return sendHtml(reply, await objectsPage(ctx, session, req.query, takeFlash(ctx, session)));
    });
    scope.get('/objects/history', async (req, reply) => {
      const session = sessionFor(req);
      return sendHtml(reply, await historyPage(ctx, session, req.query, takeFlash(ctx, session)));
    });
    scope.get('/logs', async (req, reply) => {
      const session = sessionFor(req);
      return sendHtml(reply, logsPage(ctx, session, req.query, takeFlash(ctx, session)));
    });

    scope.get('/api/jobs', async () => jobsJson(ctx));
    scope.get('/api/backends', async () => backendsJson(ctx));
    scope.get('/api/tree', async (req) => treeJson(ctx, req.query));
    scope.get('/api/logs', async (req) => {
      const { lines } = recentLines(ctx, req.query);
      return { entries: lines };
    });

    registerClusterActions(scope, ctx);
    registerObjectActions(scope, ctx);

    // Without it, an unknown dashboard path would fall through to the S3 catch-all.
    scope.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'], url: '/*', handler: async (req) => {
      throw new DomainError('NotFound', `no dashboard page ${req.method} ${req.url.split('?')[0] ?? ''}`);
    } });
  }, { prefix: ui.path });
}
