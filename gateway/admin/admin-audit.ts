import type { FastifyRequest } from 'fastify';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';

export const adminStreamId = 'admin';

/** The operator audit trail: the `admin` stream. */
export class AdminAudit {
  constructor(
    private readonly store: Pick<EventStore, 'appendToStream'>,
    private readonly events: EventFactory,
  ) {}

  /**
   * Records an operator command before it runs, so a command that fails or is refused is on
   * record too. Returns the cause the command's own events carry: actor `admin`, correlated by
   * the request id. `args` never holds a secret.
   */
  async issue(req: FastifyRequest, command: string, args: Record<string, unknown>): Promise<Cause> {
    const cause: Cause = { actor: 'admin', correlationId: req.adminRequestId };
    await this.store.appendToStream(adminStreamId, [
      this.events.event('AdminCommandIssued', { command, args, remoteAddress: req.ip }, cause),
    ], { expected: 'any' });
    return cause;
  }
}
