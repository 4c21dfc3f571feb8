import type { FastifyInstance } from 'fastify';
import { requireReachable } from '../../admin/backend-routes.js';
import { formField, issue, registerAction } from './run-action.js';
import type { UiContext } from '../ui-context.js';

/** Drain, cancel a drain, rebalance, clean excess copies, replicate now: the admin API's commands, through the same services. */
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
}
