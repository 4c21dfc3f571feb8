import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import { toAdminError } from '../../admin/admin-errors.js';
import type { Cause } from '../../../services/event-factory.js';
import { uiUrl, type UiContext } from '../ui-context.js';

/** What an action did, in words for the operator, and where to show it. */
export interface ActionOutcome {
  text: string;
  returnTo?: string;
}

/** Where an action's form asks to go back to: a page of this dashboard only. */
export function returnTarget(ctx: UiContext, requested: unknown, fallback: string): string {
  if (typeof requested !== 'string' || !requested.startsWith(`${ctx.ui.path}/`) || /[\\\s]|\/\//.test(requested)) return uiUrl(ctx, fallback);
  return requested;
}

export function formField(req: FastifyRequest, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' || value === '') throw new DomainError('ValidationFailed', `${name}: is required`, { field: name });
  return value;
}

/** Only configured buckets: the dashboard never reads or writes a bucket the S3 API would refuse. */
export function requireBucket(ctx: UiContext, bucket: string): void {
  if (!ctx.admin.config().buckets.some((b) => b.name === bucket)) throw new DomainError('NotFound', `no bucket named ${bucket} is configured`);
}

/** Records the command as the admin API does (AdminCommandIssued, actor admin), marked as coming from the dashboard. */
export function issue(ctx: UiContext, req: FastifyRequest, command: string, args: Record<string, unknown>): Promise<Cause> {
  return ctx.admin.audit.issue(req, command, { ...args, via: 'dashboard' });
}

/** Shows `text` once on the next page of this session, then goes there (303: the browser GETs it). */
export function finish(ctx: UiContext, req: FastifyRequest, reply: FastifyReply, kind: 'ok' | 'error', text: string, to: string): FastifyReply {
  if (req.uiSession) ctx.flashes.set(req.uiSession.id, { kind, text });
  return reply.code(303).header('location', to).send();
}

/**
 * A form action (`POST actions/<name>`): its outcome, or its error in the admin API's words,
 * is flashed on the page it returns to.
 */
export function registerAction(scope: FastifyInstance, ctx: UiContext, name: string, fallback: string, run: (req: FastifyRequest) => Promise<ActionOutcome>): void {
  scope.post(`/actions/${name}`, async (req, reply) => {
    const requested = (req.body as Record<string, unknown> | undefined)?.return_to;
    try {
      const outcome = await run(req);
      return finish(ctx, req, reply, 'ok', outcome.text, outcome.returnTo ?? returnTarget(ctx, requested, fallback));
    } catch (err) {
      return finish(ctx, req, reply, 'error', toAdminError(err, ctx.admin.logger).message, returnTarget(ctx, requested, fallback));
    }
  });
}
