import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { backendLifecycle } from '../../projections/read/backend-reads.js';
import type { GatewayContext } from '../context.js';
import { issueCommand } from './admin-audit.js';
import { adminToken } from './admin-auth.js';
import { parseInput } from './admin-input.js';
import { drainStatusJson } from './presenters.js';

const BackendParams = z.object({ name: z.string().min(1, 'must not be empty').max(255, 'is too long') });
const flag = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');
const RemoveQuery = z.object({ purge: flag.default(false), confirm: z.string().min(1, 'must not be empty').optional() })
  .refine((q) => q.purge || q.confirm === undefined, { message: 'is only valid with purge=true', path: ['confirm'] });

/** The purge token's secret: the admin token (the route is unreachable without one). */
function purgeSecret(ctx: GatewayContext): string {
  const token = adminToken(ctx.config());
  if (!token) throw new DomainError('NotFound', 'the admin API is disabled: set ui.admin_token');
  return token;
}

/**
 * A drain reads every copy and a purge deletes every byte, both through the backend's client:
 * a backend that is no longer in the configuration has none, and the job would wait forever.
 */
async function requireReachable(ctx: GatewayContext, backend: string, action: 'drain' | 'purge'): Promise<void> {
  if (ctx.backends.get(backend) || (await backendLifecycle(ctx.pool, backend)) === undefined) return;
  const instead = action === 'drain'
    ? `a drain could not read its copies. Put it back in the configuration and restart, or drop its records with "s3o admin remove-backend ${backend}" (its bytes stay)`
    : 'a purge could not delete its bytes. Put it back in the configuration and restart, or remove it without purge (its bytes stay)';
  throw new DomainError('Conflict', `backend ${backend} is not in the configuration: ${instead}`);
}

/** Drain, drain status, drain cancel, reactivate, and remove (optionally purging the bytes). */
export function registerBackendRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const backendOf = (params: unknown): string => parseInput(BackendParams, params, 'path').name;

  app.post('/backends/:name/drain', async (req, reply) => {
    const backend = backendOf(req.params);
    const cause = await issueCommand(ctx, req, 'drain', { backend });
    await requireReachable(ctx, backend, 'drain');
    const jobId = await ctx.backendAdmin.startDrain(backend, cause);
    return reply.code(202).send({ status: 'drain started', backend, job_id: jobId });
  });

  app.get('/backends/:name/drain', async (req) => drainStatusJson(await ctx.backendAdmin.drainStatus(backendOf(req.params))));

  app.delete('/backends/:name/drain', async (req) => {
    const backend = backendOf(req.params);
    const cause = await issueCommand(ctx, req, 'drain-cancel', { backend });
    const jobId = await ctx.backendAdmin.cancelDrain(backend, cause);
    return { status: 'drain cancelled', backend, job_id: jobId };
  });

  app.post('/backends/:name/reactivate', async (req) => {
    const backend = backendOf(req.params);
    const cause = await issueCommand(ctx, req, 'backend-reactivate', { backend });
    await ctx.backendAdmin.reactivate(backend, cause);
    return { status: 'backend reactivated', backend };
  });

  /**
   * Without purge: the records go, the bytes stay. `purge=true` alone previews what a purge
   * would delete and hands out a confirmation token valid for 60 s; with `confirm=<token>` the
   * purge runs. Either way the backend leaves the write path at once and a job does the rest.
   */
  app.delete('/backends/:name', async (req, reply) => {
    const backend = backendOf(req.params);
    const q = parseInput(RemoveQuery, req.query, 'query');
    if (q.purge && q.confirm === undefined) {
      await requireReachable(ctx, backend, 'purge');
      const preview = await ctx.backendAdmin.purgePreview(backend, purgeSecret(ctx));
      return {
        status: 'confirmation required', backend, object_count: preview.objectCount, total_bytes: preview.totalBytes,
        confirm_token: preview.confirmToken, expires_in: preview.expiresIn,
      };
    }
    const cause = await issueCommand(ctx, req, q.purge ? 'remove-backend-purge' : 'remove-backend', { backend, purge: q.purge });
    if (q.purge) await requireReachable(ctx, backend, 'purge');
    const jobId = await ctx.backendAdmin.remove(backend, { purge: q.purge, confirmToken: q.confirm, secret: purgeSecret(ctx) }, cause);
    return reply.code(202).send({ status: q.purge ? 'purge started' : 'backend removed', backend, job_id: jobId, purge: q.purge });
  });
}
