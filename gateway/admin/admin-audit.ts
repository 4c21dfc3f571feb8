import type { FastifyRequest } from 'fastify';
import type { Cause } from '../../services/event-factory.js';
import type { GatewayContext } from '../context.js';

export const adminStreamId = 'admin';

/**
 * Records an operator command in the `admin` stream (the audit trail) before it runs, so a
 * command that fails or is refused is on record too. Returns the cause the command's own
 * events carry: actor `admin`, correlated by the request id. `args` never holds a secret.
 */
export async function issueCommand(ctx: GatewayContext, req: FastifyRequest, command: string, args: Record<string, unknown>): Promise<Cause> {
  const cause: Cause = { actor: 'admin', correlationId: req.adminRequestId };
  await ctx.store.appendToStream(adminStreamId, [
    ctx.events.event('AdminCommandIssued', { command, args, remoteAddress: req.ip }, cause),
  ], { expected: 'any' });
  return cause;
}
