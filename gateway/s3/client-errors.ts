import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { DomainError } from '../../domain/errors.js';
import { newRequestId } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { buildErrorXml } from './xml/error.js';
import { XML_CONTENT_TYPE } from './respond.js';

/**
 * The S3 error for a request Node's HTTP parser refused before any route saw it (llhttp codes),
 * or undefined when nothing should be answered (the peer is gone).
 */
export function clientErrorOf(err: NodeJS.ErrnoException): DomainError | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return new DomainError('RequestHeaderSectionTooLarge');
    case 'HPE_INVALID_CONTENT_LENGTH':
      return new DomainError('InvalidArgument', 'The Content-Length header must be a non-negative whole number.', { ArgumentName: 'Content-Length' });
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new DomainError('InvalidRequest', 'A request may not carry both Content-Length and Transfer-Encoding, nor several Content-Lengths.');
    case 'HPE_INVALID_EOF_STATE':
      return new DomainError('IncompleteBody');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new DomainError('RequestTimeout');
    default:
      return new DomainError('InvalidRequest', 'The request could not be parsed as HTTP/1.1.');
  }
}

/**
 * fastify's `clientErrorHandler`: answers parser-level refusals (negative or conflicting
 * Content-Length, a body cut short, a header section over Node's limit, malformed requests) as
 * S3 XML errors instead of fastify's JSON, then closes the connection. As Node itself does, it
 * writes nothing once a response on that connection has started.
 */
export function s3ClientErrorHandler(logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    const e = clientErrorOf(err);
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    logger.debug({ code: err.code, answered: e?.s3Code }, 'refused a request the HTTP parser could not accept');
    if (!e || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = newRequestId();
    const argumentName = e.details?.ArgumentName;
    const body = buildErrorXml({ code: e.s3Code, message: e.message, fields: { ArgumentName: typeof argumentName === 'string' ? argumentName : undefined }, requestId });
    socket.end([
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}`, `Content-Type: ${XML_CONTENT_TYPE}`,
      `Content-Length: ${Buffer.byteLength(body)}`, `x-amz-request-id: ${requestId}`, 'Connection: close', '', body,
    ].join('\r\n'), () => socket.destroy());
  };
}
