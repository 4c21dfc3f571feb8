import { DomainError } from '../../domain/errors.js';
import { firstHeader, parseRawQuery, splitRawUrl } from './canonical.js';
import { authenticateHeaderSignature } from './header-auth.js';
import { classifyContentSha256 } from './payload-mode.js';
import { authenticatePresigned } from './presigned.js';
import type { SigningKeyCache } from './signing-key-cache.js';
import { ALGORITHM, DEFAULT_SIGNING_SCOPE, type SigningScope } from './sigv4.js';
import { authenticateToken } from './token.js';
import type { AuthRequest, AuthResult, CredentialLookup, PayloadMode } from './types.js';

/**
 * Authenticates an S3 request: `Authorization: AWS4-HMAC-SHA256 …`, else a presigned URL, else a
 * legacy `X-Proxy-Token`; anything else is AccessDenied. Returns who is calling and how the body
 * must be decoded and verified (see gateway/body). A signature must name service `s3` and one of
 * `scope`'s regions (by default us-east-1, the default `server.region`). Throws DomainError. Whether the principal may
 * use the addressed bucket is the caller's check.
 */
export function authenticate(req: AuthRequest, creds: CredentialLookup, cache: SigningKeyCache, scope: SigningScope = DEFAULT_SIGNING_SCOPE): AuthResult {
  const url = splitRawUrl(req.rawUrl);
  const authorization = firstHeader(req.headers['authorization']);
  if (authorization !== undefined && authorization.startsWith(ALGORITHM)) {
    return authenticateHeaderSignature(authorization, req, url, creds, cache, scope);
  }
  if (authorization !== undefined && authorization.startsWith('AWS4-ECDSA-P256-SHA256')) {
    throw new DomainError('NotImplemented', 'SigV4a (ECDSA) is not supported.');
  }

  if (url.query.includes('X-Amz-Algorithm=')) {
    const params = parseRawQuery(url.query);
    const algorithm = params.find((p) => p.key === 'X-Amz-Algorithm');
    if (algorithm !== undefined) return authenticatePresigned(algorithm.value, params, req, url, creds, cache, scope);
  }

  const token = firstHeader(req.headers['x-proxy-token']);
  if (token !== undefined && token !== '') {
    const principal = authenticateToken(token, creds);
    if (principal === undefined) throw new DomainError('AccessDenied');
    return { principal, payload: unsignedPayloadMode(req) };
  }
  if (isSigV2(authorization, url.query)) {
    // boto3 and the AWS CLI v1 still presign with SigV2 by default: say why such a request is refused.
    throw new DomainError('AccessDenied', 'Signature Version 2 is not supported; sign requests with AWS4-HMAC-SHA256 (SigV4).');
  }
  throw new DomainError('AccessDenied');
}

/** `Authorization: AWS <key>:<signature>` or a `?AWSAccessKeyId=…&Signature=…` presigned URL. */
function isSigV2(authorization: string | undefined, query: string): boolean {
  if (authorization !== undefined) return authorization.startsWith('AWS ');
  const names = new Set(parseRawQuery(query).map((p) => p.key));
  return names.has('AWSAccessKeyId') && names.has('Signature');
}

/** For requests without a signature, the body may still declare a hash or an unsigned aws-chunked encoding. */
function unsignedPayloadMode(req: AuthRequest): PayloadMode {
  const value = firstHeader(req.headers['x-amz-content-sha256']);
  if (value === undefined) return { kind: 'unsigned' };
  const declared = classifyContentSha256(value);
  if (declared.kind === 'streaming-signed') {
    throw new DomainError('InvalidRequest', 'Signed aws-chunked bodies need an Authorization header.');
  }
  return declared;
}
