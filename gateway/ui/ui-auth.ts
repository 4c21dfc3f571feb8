import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import { tokensMatch } from '../admin/admin-auth.js';
import { loginPage } from './layout.js';
import { sessionLifetimeMs, type UiSession } from './session.js';
import { crossSiteRequest } from './security-headers.js';
import { uiUrl, type UiContext } from './ui-context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in operator of a dashboard request (set before any dashboard handler runs). */
    uiSession: UiSession | undefined;
  }
  interface FastifyContextConfig {
    /** `public`: no session needed (login, assets); `stream`: the handler checks the CSRF token in the body it streams. */
    uiAccess?: 'public' | 'stream';
  }
}

export const sessionCookie = 's3o_ui_session';

/** Login names longer than this are cut before they are counted (a spray cannot grow the throttle's keys). */
const maxNameLength = 256;

function secureCookies(ctx: UiContext, req: FastifyRequest): boolean {
  return ctx.ui.force_secure_cookies || req.protocol === 'https';
}

function setSessionCookie(ctx: UiContext, req: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  void reply.header('set-cookie', stringifySetCookie(sessionCookie, value, {
    path: ctx.ui.path, httpOnly: true, sameSite: 'strict', secure: secureCookies(ctx, req), maxAge: maxAgeSeconds,
  }));
}

/** Where to go after signing in: a page of this dashboard only (never another site). */
export function safeNext(ctx: UiContext, next: unknown): string {
  const fallback = uiUrl(ctx, '/backends');
  if (typeof next !== 'string' || !next.startsWith(`${ctx.ui.path}/`) || /[\\\s]|\/\//.test(next)) return fallback;
  return next;
}

export function sessionOf(ctx: UiContext, req: FastifyRequest): UiSession | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return ctx.sessions.verify(parseCookie(header)[sessionCookie]);
}

const wantsJson = (ctx: UiContext, req: FastifyRequest) => req.url.startsWith(uiUrl(ctx, '/api/'));

/**
 * Every dashboard request but the login form and the static files needs a valid session: pages
 * redirect to the login, JSON answers 401. Every POST but the login needs the session's CSRF
 * token (form field `_csrf` or header X-CSRF-Token): 403 without it. Cross-site posts are
 * refused first (403).
 */
export function installAuthHooks(scope: FastifyInstance, ctx: UiContext): void {
  scope.decorateRequest('uiSession', undefined);
  scope.addHook('onRequest', async (req, reply) => {
    if (req.method === 'POST' && crossSiteRequest(req)) return reply.code(403).type('text/plain; charset=utf-8').send('cross-site request refused');
    if (req.routeOptions.config.uiAccess === 'public') return undefined;
    req.uiSession = sessionOf(ctx, req);
    if (req.uiSession) return undefined;
    if (wantsJson(ctx, req) || req.method !== 'GET') return reply.code(401).send({ error: 'sign in first', code: 'Unauthorized' });
    return reply.code(303).header('location', `${uiUrl(ctx, '/login')}?next=${encodeURIComponent(req.url)}`).send();
  });
  scope.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || req.routeOptions.config.uiAccess !== undefined) return undefined;
    const body = req.body as Record<string, unknown> | undefined;
    const token = req.headers['x-csrf-token'] ?? body?._csrf;
    if (req.uiSession && ctx.sessions.csrfMatches(req.uiSession, token)) return undefined;
    return reply.code(403).type('text/plain; charset=utf-8').send('missing or wrong CSRF token: reload the page and try again');
  });
}

/** `GET login`, `POST login` (admin_key, admin_secret; lockout after repeated failures), `POST logout`. */
export function registerLoginRoutes(scope: FastifyInstance, ctx: UiContext): void {
  scope.get('/login', { config: { uiAccess: 'public' } }, async (req, reply) => {
    const next = (req.query as Record<string, unknown>).next;
    return reply.type('text/html; charset=utf-8').send(loginPage(ctx, { next: typeof next === 'string' ? next : '' }));
  });

  scope.post('/login', { config: { uiAccess: 'public' } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = (typeof body.admin_key === 'string' ? body.admin_key : '').slice(0, maxNameLength);
    const secret = typeof body.admin_secret === 'string' ? body.admin_secret : '';
    const next = safeNext(ctx, body.next);
    const refuse = (status: number, error: string) => reply.code(status).type('text/html; charset=utf-8').send(loginPage(ctx, { error, next, name }));
    const locked = ctx.throttle.lockout(req.ip, name);
    if (locked) {
      void reply.header('retry-after', String(locked.retryAfterSeconds));
      return refuse(429, lockoutMessage(locked.by, locked.retryAfterSeconds));
    }
    // Both compared in full, whether or not the first matched: the time taken says nothing.
    const keyOk = tokensMatch(name, ctx.ui.admin_key ?? '');
    const secretOk = tokensMatch(secret, ctx.ui.admin_secret ?? '');
    if (!keyOk || !secretOk || name === '') {
      const lockout = ctx.throttle.failed(req.ip, name);
      ctx.admin.logger.warn({ remoteAddress: req.ip, lockedOut: lockout !== undefined }, 'dashboard login failed');
      if (lockout) {
        void reply.header('retry-after', String(lockout.retryAfterSeconds));
        return refuse(429, lockoutMessage(lockout.by, lockout.retryAfterSeconds));
      }
      return refuse(401, 'Wrong admin key or secret.');
    }
    ctx.throttle.succeeded(req.ip, name);
    const { cookie } = ctx.sessions.issue(name);
    setSessionCookie(ctx, req, reply, cookie, sessionLifetimeMs / 1000);
    ctx.admin.logger.info({ remoteAddress: req.ip }, 'dashboard login');
    return reply.code(303).header('location', next).send();
  });

  scope.post('/logout', async (req, reply) => {
    if (req.uiSession) ctx.sessions.end(req.uiSession);
    setSessionCookie(ctx, req, reply, '', 0);
    return reply.code(303).header('location', uiUrl(ctx, '/login')).send();
  });
}

function lockoutMessage(by: 'address' | 'name', seconds: number): string {
  const who = by === 'address' ? 'from this address' : 'for this admin key';
  return `Too many failed sign-ins ${who}. Try again in ${seconds >= 60 ? `${Math.ceil(seconds / 60)} min` : `${seconds} s`}.`;
}
