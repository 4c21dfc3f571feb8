import type { FastifyInstance } from 'fastify';
import { requireReachable } from '../../admin/backend-routes.js';
import { DomainError } from '../../../domain/errors.js';
import { syncSummary } from '../../../processes/reconcile/sync-run.js';
import { formField, issue, registerAction, requireBucket } from './run-action.js';
import type { UiContext } from '../ui-context.js';

/**
 * Drain, cancel a drain, rebalance, clean excess copies, replicate now: the admin API's commands,
 * through the same services; sync: what `s3o sync` does, run here.
 */
export function registerClusterActions(scope: FastifyInstance, ctx: UiContext): void {
  const { backends, replication } = ctx.admin;

  registerAction(scope, ctx, 'drain', '/backends', async (req) => {
    const backend = formField(req, 'backend');
    const cause = await issue(ctx, req, 'drain', { backend });
    await requireReachable(backends, backend, 'drain');
    const jobId = await backends.backendAdmin.startDrain(backend, cause);
    return { text: `Drain of ${backend} started (job ${jobId}).` };
  });

  registerAction(scope, ctx, 'drain-cancel', '/backends', async (req) => {
    const backend = formField(req, 'backend');
    const cause = await issue(ctx, req, 'drain-cancel', { backend });
    const jobId = await backends.backendAdmin.cancelDrain(backend, cause);
    return { text: `Drain of ${backend} cancelled (job ${jobId}); it takes writes again.` };
  });

  registerAction(scope, ctx, 'rebalance', '/backends', async (req) => {
    const cause = await issue(ctx, req, 'rebalance', {});
    const r = await replication.replication.rebalance(cause);
    if (r.status === 'skipped') return { text: `Rebalance skipped: ${r.reason}.` };
    return { text: `Rebalance started (job ${r.jobId}): ${r.moves} moves planned.` };
  });

  registerAction(scope, ctx, 'clean-excess', '/backends', async (req) => {
    await issue(ctx, req, 'over-replication', {});
    const r = await replication.replication.removeExcess();
    if (r.status === 'skipped') return { text: `Cleaning excess copies skipped: ${r.reason}.` };
    return { text: `Removed ${r.copiesRemoved} excess copies.` };
  });

  registerAction(scope, ctx, 'replicate', '/backends', async (req) => {
    await issue(ctx, req, 'replicate', {});
    const r = await replication.replication.replicate();
    if (r.status === 'skipped') return { text: `Replication skipped: ${r.reason}.` };
    return { text: `Replication pass done: ${r.copiesCreated} copies created, ${r.objectsShort} objects still short.` };
  });

  registerAction(scope, ctx, 'sync', '/backends', async (req) => {
    const backend = formField(req, 'backend');
    const bucket = formField(req, 'bucket');
    const prefix = (req.body as Record<string, unknown>).prefix;
    if (prefix !== undefined && typeof prefix !== 'string') throw new DomainError('ValidationFailed', 'prefix: must be text', { field: 'prefix' });
    requireBucket(ctx, bucket);
    if (!ctx.admin.config().backends.some((b) => b.name === backend)) throw new DomainError('NotFound', `no backend named ${backend} is configured`);
    const cause = await issue(ctx, req, 'sync', { backend, bucket, prefix: prefix ?? '' });
    const r = await ctx.admin.sync.run({ backend, bucket, prefix: prefix ?? '' }, cause);
    const outcome = `Sync of ${backend} into ${bucket}: ${syncSummary(r, false)}.`;
    return { text: r.complete ? outcome : `${outcome} It stopped early (its lease was lost): run it again.` };
  });
}
