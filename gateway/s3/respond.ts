import type { FastifyReply } from 'fastify';
import { DomainError, isDomainError } from '../../domain/errors.js';
import { ConcurrencyError, StoreUnavailableError } from '../../domain/eventstore/errors.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { buildErrorXml } from './xml/error.js';

export const XML_CONTENT_TYPE = 'application/xml';

export function sendXml(reply: FastifyReply, status: number, xml: string): FastifyReply {
  return reply.code(status).header('content-type', XML_CONTENT_TYPE).send(xml);
}

/** Maps anything thrown while serving a request to the error S3 clients understand. */
export function toDomainError(err: unknown, logger: Logger): DomainError {
  if (isDomainError(err)) return err;
  if (err instanceof StoreUnavailableError) return new DomainError('ServiceUnavailable', 'The metadata store is unavailable; please retry.');
  if (err instanceof ConcurrencyError) return new DomainError('SlowDown', 'Too many concurrent changes to this object; please retry.');
  logger.error({ err }, 'unexpected error');
  return new DomainError('InternalError');
}

/** Extra S3 error fields (Key, BucketName, UploadId, …) come from the error's details. */
function errorFields(err: DomainError): Record<string, string | number | undefined> {
  const out: Record<string, string | number | undefined> = {};
  for (const [k, v] of Object.entries(err.details ?? {})) {
    if (/^[A-Z]/.test(k) && (typeof v === 'string' || typeof v === 'number')) out[k] = v;
  }
  return out;
}

export function errorBody(err: DomainError, requestId: string, resource: string): string {
  return buildErrorXml({ code: err.s3Code, message: err.message, fields: errorFields(err), resource, requestId });
}

/** Retry-After for the errors a client should simply retry: throttling and unavailability. */
export function retryAfterOf(err: DomainError): string | undefined {
  return err.s3Code === 'SlowDown' || err.code === 'ServiceUnavailable' ? '1' : undefined;
}

/** Headers describing an object's representation: an error answer must not carry them (a client would check the error body against the object's checksum). */
const OBJECT_HEADERS = new Set(['etag', 'last-modified', 'content-range', 'content-encoding', 'content-disposition', 'content-language', 'expires', 'cache-control', 'content-length', 'accept-ranges', 'x-amz-mp-parts-count']);

function isObjectHeader(name: string): boolean {
  return OBJECT_HEADERS.has(name) || name.startsWith('x-amz-checksum-') || name.startsWith('x-amz-meta-');
}

export function sendError(reply: FastifyReply, err: DomainError, requestId: string, resource: string, head: boolean): FastifyReply {
  reply.code(err.status);
  if (err.status !== 304) {
    for (const name of Object.keys(reply.getHeaders())) if (isObjectHeader(name.toLowerCase())) reply.removeHeader(name);
  }
  if (err.code === 'InvalidRange' && typeof err.details?.ActualObjectSize === 'number') {
    reply.header('content-range', `bytes */${err.details.ActualObjectSize}`);
  }
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
  if (head || err.status === 304) return reply.send();
  return reply.header('content-type', XML_CONTENT_TYPE).send(errorBody(err, requestId, resource));
}
