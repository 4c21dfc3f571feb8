import { DomainError } from '../../domain/errors.js';
import { canonicalQueryString, firstHeader, parseRawQuery, type SplitUrl } from './canonical.js';
import { classifyContentSha256 } from './payload-mode.js';
import type { SigningKeyCache } from './signing-key-cache.js';
import {
  ALGORITHM, MAX_SKEW_MS, assertAmzHeadersSigned, assertSigningScope, formatAmzDate, parseAmzDate, parseCredential, splitSignedHeaders,
  verifySignature, type SigningScope,
} from './sigv4.js';
import type { AuthRequest, AuthResult, CredentialLookup, PayloadMode } from './types.js';

interface AuthorizationFields {
  credential: string;
  signedHeaders: string;
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (any order, optional spaces). */
function parseAuthorization(value: string): AuthorizationFields {
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  const rest = value.slice(ALGORITHM.length);
  if (rest.charCodeAt(0) === 32) {
    let i = 1;
    while (i < rest.length) {
      let end = rest.indexOf(',', i);
      if (end === -1) end = rest.length;
      const part = rest.slice(i, end).trim();
      const eq = part.indexOf('=');
      if (eq !== -1) {
        const name = part.slice(0, eq);
        const v = part.slice(eq + 1);
        if (name === 'Credential') credential = v;
        else if (name === 'SignedHeaders') signedHeaders = v;
        else if (name === 'Signature') signature = v;
      }
      i = end + 1;
    }
  }
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw new DomainError(
      'AuthorizationHeaderMalformed',
      'The authorization header must carry Credential, SignedHeaders and Signature.',
    );
  }
  return { credential, signedHeaders, signature };
}

/** The request time from X-Amz-Date, else from Date, as [epoch ms, ISO 8601 basic]. */
function requestTime(req: AuthRequest): [number, string] {
  const amzDate = firstHeader(req.headers['x-amz-date']);
  if (amzDate !== undefined) {
    const ms = parseAmzDate(amzDate);
    if (ms !== undefined) return [ms, amzDate];
  } else {
    const date = firstHeader(req.headers['date']);
    const ms = date === undefined ? NaN : Date.parse(date);
    if (!Number.isNaN(ms)) return [ms, formatAmzDate(ms)];
  }
  throw new DomainError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header.');
}

/** Verifies a request signed with `Authorization: AWS4-HMAC-SHA256 …`. */
export function authenticateHeaderSignature(
  authorization: string,
  req: AuthRequest,
  url: SplitUrl,
  creds: CredentialLookup,
  cache: SigningKeyCache,
  scope: SigningScope,
): AuthResult {
  const fields = parseAuthorization(authorization);
  const credential = parseCredential(fields.credential, 'AuthorizationHeaderMalformed');
  assertSigningScope(credential, scope, 'AuthorizationHeaderMalformed');
  const signedHeaderNames = splitSignedHeaders(fields.signedHeaders, 'AuthorizationHeaderMalformed');
  const [timeMs, amzDate] = requestTime(req);
  if (Math.abs(req.nowMs - timeMs) > MAX_SKEW_MS) throw new DomainError('RequestTimeTooSkewed');
  if (!amzDate.startsWith(credential.date)) {
    throw new DomainError('AuthorizationHeaderMalformed', 'Invalid credential date: it is not the date of X-Amz-Date.');
  }
  const payloadHash = firstHeader(req.headers['x-amz-content-sha256']);
  if (payloadHash === undefined) {
    throw new DomainError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const declared = classifyContentSha256(payloadHash);

  const verified = verifySignature(
    {
      method: req.method,
      path: url.path,
      canonicalQuery: url.query === '' ? '' : canonicalQueryString(parseRawQuery(url.query)),
      headers: req.headers,
      signedHeaders: fields.signedHeaders,
      signedHeaderNames,
      payloadHash,
      amzDate,
      credential,
      signature: fields.signature,
    },
    creds,
    cache,
  );
  assertAmzHeadersSigned(req.headers, signedHeaderNames);

  const payload: PayloadMode = declared.kind === 'streaming-signed'
    ? {
      kind: 'streaming-signed',
      trailer: declared.trailer,
      seedSignature: verified.signature.toString('hex'),
      signingKey: verified.signingKey,
      scope: credential.scope,
      amzDate,
    }
    : declared;
  return { principal: { accessKeyId: credential.accessKeyId, bucket: verified.credential.bucket }, payload };
}
