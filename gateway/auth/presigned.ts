import { DomainError } from '../../domain/errors.js';
import { canonicalQueryString, decodeQueryComponent, firstHeader, type RawParam, type SplitUrl } from './canonical.js';
import { UNSIGNED_PAYLOAD, classifyContentSha256 } from './payload-mode.js';
import type { SigningKeyCache } from './signing-key-cache.js';
import {
  ALGORITHM, MAX_SKEW_MS, assertAmzHeadersSigned, assertSigningScope, parseAmzDate, parseCredential, splitSignedHeaders, verifySignature,
  type SigningScope,
} from './sigv4.js';
import type { AuthRequest, AuthResult, CredentialLookup, PayloadMode } from './types.js';

const MAX_EXPIRES_SECONDS = 604_800;

interface PresignFields {
  credential?: string;
  signedHeaders?: string;
  signature?: string;
  date?: string;
  expires?: string;
  contentSha256?: string;
}

function presignFields(params: readonly RawParam[]): PresignFields {
  const f: PresignFields = {};
  for (const p of params) {
    if (p.key.length < 7 || (p.key.charCodeAt(0) | 32) !== 120 /* x */) continue;
    // The JS SDK's S3 presigner hoists its lower-case x-amz-content-sha256 header into the query as is.
    if (p.key === 'x-amz-content-sha256') {
      f.contentSha256 = decodeQueryComponent(p.value);
      continue;
    }
    switch (p.key) {
      case 'X-Amz-Credential': f.credential = decodeQueryComponent(p.value); break;
      case 'X-Amz-SignedHeaders': f.signedHeaders = decodeQueryComponent(p.value); break;
      case 'X-Amz-Signature': f.signature = decodeQueryComponent(p.value); break;
      case 'X-Amz-Date': f.date = decodeQueryComponent(p.value); break;
      case 'X-Amz-Expires': f.expires = decodeQueryComponent(p.value); break;
      case 'X-Amz-Content-Sha256': f.contentSha256 = decodeQueryComponent(p.value); break;
    }
  }
  return f;
}

function queryError(message: string): DomainError {
  return new DomainError('AuthorizationQueryParametersError', message);
}

/** Verifies a presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256` and friends in the query). */
export function authenticatePresigned(
  algorithm: string,
  params: readonly RawParam[],
  req: AuthRequest,
  url: SplitUrl,
  creds: CredentialLookup,
  cache: SigningKeyCache,
  scope: SigningScope,
): AuthResult {
  if (algorithm !== ALGORITHM) {
    if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw new DomainError('NotImplemented', 'SigV4a (ECDSA) is not supported.');
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');
  }
  const f = presignFields(params);
  if (f.credential === undefined || f.signedHeaders === undefined || f.signature === undefined ||
    f.date === undefined || f.expires === undefined) {
    throw queryError(
      'Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, ' +
        'X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const credential = parseCredential(f.credential, 'AuthorizationQueryParametersError');
  assertSigningScope(credential, scope, 'AuthorizationQueryParametersError');
  const signedHeaderNames = splitSignedHeaders(f.signedHeaders, 'AuthorizationQueryParametersError');
  const timeMs = parseAmzDate(f.date);
  if (timeMs === undefined) throw queryError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'".');
  if (!f.date.startsWith(credential.date)) throw queryError('Invalid credential date: it is not the date of X-Amz-Date.');
  if (!/^[0-9]+$/.test(f.expires)) throw queryError('X-Amz-Expires must be a non-negative integer number of seconds.');
  // A URL valid for no time, or for longer than SigV4 allows, is refused as S3 refuses it: 403.
  const expires = Number(f.expires);
  if (expires === 0) throw new DomainError('AccessDenied', 'Request has expired: X-Amz-Expires is 0, so the URL was never valid.');
  if (expires > MAX_EXPIRES_SECONDS) {
    throw new DomainError('AccessDenied', 'X-Amz-Expires must be at most a week (604800 seconds); this URL asks for longer.');
  }
  if (timeMs - req.nowMs > MAX_SKEW_MS) throw new DomainError('AccessDenied', 'Request is not valid yet.');
  if (req.nowMs > timeMs + expires * 1000) throw new DomainError('AccessDenied', 'Request has expired.');

  const payloadHash = firstHeader(req.headers['x-amz-content-sha256']) ?? f.contentSha256 ?? UNSIGNED_PAYLOAD;
  const declared = classifyContentSha256(payloadHash);
  if (declared.kind === 'streaming-signed') {
    throw new DomainError('InvalidRequest', 'Signed aws-chunked bodies need an Authorization header, not a presigned URL.');
  }

  const verified = verifySignature(
    {
      method: req.method,
      path: url.path,
      canonicalQuery: canonicalQueryString(params, 'X-Amz-Signature'),
      headers: req.headers,
      signedHeaders: f.signedHeaders,
      signedHeaderNames,
      payloadHash,
      amzDate: f.date,
      credential,
      signature: f.signature,
    },
    creds,
    cache,
  );
  assertAmzHeadersSigned(req.headers, signedHeaderNames);
  const payload: PayloadMode = declared;
  return { principal: { accessKeyId: credential.accessKeyId, bucket: verified.credential.bucket }, payload };
}
