import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, isDomainError } from '../../domain/errors.js';
import { ConcurrencyError, StoreUnavailableError } from '../../domain/eventstore/errors.js';
import type { Logger } from '../../infra/telemetry/logger.js';

/** The admin API's error body: the message, the catalogue code, and the offending field when there is one. */
export interface AdminErrorBody {
  error: string;
  code: string;
  field?: string;
}

export function sendAdminError(reply: FastifyReply, err: DomainError): FastifyReply {
  const body: AdminErrorBody = { error: err.message, code: err.code };
  if (typeof err.details?.field === 'string') body.field = err.details.field;
  return reply.code(err.status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/** Maps anything a handler, a hook or the body parser threw to a catalogue error. */
export function toAdminError(err: unknown, logger: Logger): DomainError {
  if (isDomainError(err)) return err;
  if (err instanceof ConcurrencyError) return new DomainError('Conflict', 'the target changed meanwhile; look again and retry');
  if (err instanceof StoreUnavailableError) return new DomainError('ServiceUnavailable', 'the metadata database is unavailable; retry shortly');
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new DomainError('PayloadTooLarge', 'the request body is larger than 1 MiB');
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new DomainError('ValidationFailed', 'the request body does not match its Content-Length');
  logger.error({ err }, 'admin API request failed');
  return new DomainError('InternalError', 'internal error; see the orchestrator log');
}

export function adminErrorHandler(logger: Logger) {
  return (err: unknown, _req: FastifyRequest, reply: FastifyReply): FastifyReply => sendAdminError(reply, toAdminError(err, logger));
}
