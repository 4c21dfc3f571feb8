import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { backendLifecycle } from '../../projections/read/backend-reads.js';
import type { Config } from '../../domain/config/config.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import type { BackendAdmin } from '../../services/backends/backend-admin.js';
import type { BackendDirectory } from '../../services/backends/backend-directory.js';
import type { AdminAudit } from './admin-audit.js';
import { adminToken } from './admin-auth.js';
import { parseInput } from './admin-input.js';
import { drainStatusJson } from './presenters.js';

const BackendParams = z.object({ name: z.string().min(1, 'must not be empty').max(255, 'is too long') });
const flag = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');
const RemoveQuery = z.object({ purge: flag.default(false), confirm: z.string().min(1, 'must not be empty').optional() })
  .refine((q) => q.purge || q.confirm === undefined, { message: 'is only valid with purge=true', path: ['confirm'] });

export interface BackendRouteDeps {
  /** The current configuration (the admin token signs purge confirmations). */
  config(): Config;
  /** The configured backends' clients: a drain or purge needs one. */
  backends: Pick<BackendDirectory, 'get'>;
  /** The projections, read only (a backend's lifecycle state). */
  reads: Queryable;
  backendAdmin: BackendAdmin;
  audit: AdminAudit;
}

/** The purge token's secret: the admin token (the route is unreachable without one). */
function purgeSecret(deps: BackendRouteDeps): string {
  const token = adminToken(deps.config());
  if (!token) throw new DomainError('NotFound', 'the admin API is disabled: set ui.admin_token');
  return token;
}

/**
 * A drain reads every copy and a purge deletes every byte, both through the backend's client:
 * a backend that is no longer in the configuration has none, and the job would wait forever.
 */
export async function requireReachable(deps: BackendRouteDeps, backend: string, action: 'drain' | 'purge'): Promise<void> {
  if (deps.backends.get(backend) || (await backendLifecycle(deps.reads, backend)) === undefined) return;
  const instead = action === 'drain'
    ? `a drain could not read its copies. Put it back in the configuration and restart, or drop its records with "s3o admin remove-backend ${backend}" (its bytes stay)`
    : 'a purge could not delete its bytes. Put it back in the configuration and restart, or remove it without purge (its bytes stay)';
  throw new DomainError('Conflict', `backend ${backend} is not in the configuration: ${instead}`);
}

/** Drain, drain status, drain cancel, reactivate, and remove (optionally purging the bytes). */
export function registerBackendRoutes(app: FastifyInstance, deps: BackendRouteDeps): void {
  const backendOf = (params: unknown): string => parseInput(BackendParams, params, 'path').name;

  app.post('/backends/:name/drain', async (req, reply) => {
    const backend = backendOf(req.params);
    const cause = await deps.audit.issue(req, 'drain', { backend });
    await requireReachable(deps, backend, 'drain');
    const jobId = await deps.backendAdmin.startDrain(backend, cause);
    return reply.code(202).send({ status: 'drain started', backend, job_id: jobId });
  });

  app.get('/backends/:name/drain', async (req) => drainStatusJson(await deps.backendAdmin.drainStatus(backendOf(req.params))));

  app.delete('/backends/:name/drain', async (req) => {
    const backend = backendOf(req.params);
    const cause = await deps.audit.issue(req, 'drain-cancel', { backend });
    const jobId = await deps.backendAdmin.cancelDrain(backend, cause);
    return { status: 'drain cancelled', backend, job_id: jobId };
  });

  app.post('/backends/:name/reactivate', async (req) => {
    const backend = backendOf(req.params);
    const cause = await deps.audit.issue(req, 'backend-reactivate', { backend });
    await deps.backendAdmin.reactivate(backend, cause);
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
      await requireReachable(deps, backend, 'purge');
      const preview = await deps.backendAdmin.purgePreview(backend, purgeSecret(deps));
      return {
        status: 'confirmation required', backend, object_count: preview.objectCount, total_bytes: preview.totalBytes,
        confirm_token: preview.confirmToken, expires_in: preview.expiresIn,
      };
    }
    const cause = await deps.audit.issue(req, q.purge ? 'remove-backend-purge' : 'remove-backend', { backend, purge: q.purge });
    if (q.purge) await requireReachable(deps, backend, 'purge');
    const jobId = await deps.backendAdmin.remove(backend, { purge: q.purge, confirmToken: q.confirm, secret: purgeSecret(deps) }, cause);
    return reply.code(202).send({ status: q.purge ? 'purge started' : 'backend removed', backend, job_id: jobId, purge: q.purge });
  });
}
