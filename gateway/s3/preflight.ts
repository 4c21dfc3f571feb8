import type { IncomingMessage } from 'node:http';
import { DomainError } from '../../domain/errors.js';

/**
 * OPTIONS is a CORS preflight to S3, on any URL (a presigned one too: a preflight carries no
 * credentials). No bucket here has a CORS configuration (the cors sub-resource is not
 * implemented), so the answer is S3's for such a bucket: without an Origin header 400, with one
 * 403 — never a success a browser would take for permission.
 */
export function preflightRefusal(req: IncomingMessage): DomainError {
  if (req.headers.origin === undefined) return new DomainError('BadRequest', 'Insufficient information. Origin request header needed.');
  return new DomainError('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.');
}
