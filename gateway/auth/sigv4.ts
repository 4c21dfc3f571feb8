import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../../infra/hash.js';
import { DomainError, type ErrorCode } from '../../domain/errors.js';
import { canonicalHeaderValue } from './canonical.js';
import type { SigningKeyCache } from './signing-key-cache.js';
import type { CredentialLookup, HeaderMap, SigV4Credential } from './types.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** Stands in for the secret of an unknown access key, so that case costs the same HMAC work. */
const UNKNOWN_KEY_ID = '\0unknown';
const UNKNOWN_KEY_SECRET = randomBytes(30).toString('base64');

export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  /** `date/region/service/aws4_request` */
  scope: string;
}

/**
 * Parsed credentials and SignedHeaders lists by their text. A client sends the same ones on every
 * request of a day, and parsing them each time showed in the profile of the small GET. Only
 * well-formed values are kept (their parse is frozen and shared); the maps are emptied when full.
 */
const maxMemoised = 1024;
const parsedCredentials = new Map<string, CredentialScope>();
const splitHeaderLists = new Map<string, readonly string[]>();

function memoise<T>(map: Map<string, T>, key: string, value: T): T {
  if (map.size >= maxMemoised) map.clear();
  map.set(key, value);
  return value;
}

/** Parses `AKID/20130524/us-east-1/s3/aws4_request`. */
export function parseCredential(value: string, errorCode: ErrorCode): CredentialScope {
  const known = parsedCredentials.get(value);
  if (known !== undefined) return known;
  const parts = value.split('/');
  const [accessKeyId, date, region, service, terminator] = parts;
  if (
    parts.length !== 5 || accessKeyId === undefined || accessKeyId === '' || date === undefined || !isDigits(date, 8) ||
    region === undefined || region === '' || service === undefined || service === '' || terminator !== 'aws4_request'
  ) {
    throw new DomainError(errorCode, 'The credential is malformed; expected "<access key>/<YYYYMMDD>/<region>/<service>/aws4_request".');
  }
  return memoise(parsedCredentials, value, Object.freeze({
    accessKeyId, date, region, service, scope: date + '/' + region + '/' + service + '/aws4_request',
  }));
}

/** The credential scopes a signature may name: service `s3` in one of `regions` (`server.region` and `server.additional_regions`). */
export interface SigningScope {
  readonly regions: ReadonlySet<string>;
  /** The region named in refusals (S3 clients retry there): `server.region`. */
  readonly primary: string;
}

export const DEFAULT_SIGNING_SCOPE: SigningScope = { regions: new Set(['us-east-1']), primary: 'us-east-1' };

/**
 * Refuses a credential scope for another service or a region this endpoint does not serve, as S3
 * does (before looking at the signature), naming the region to use in `<Region>`.
 */
export function assertSigningScope(credential: CredentialScope, accepted: SigningScope, errorCode: ErrorCode): void {
  const presigned = errorCode === 'AuthorizationQueryParametersError';
  const prefix = presigned ? 'Error parsing the X-Amz-Credential parameter;' : 'The authorization header is malformed;';
  if (credential.service !== 's3') {
    throw new DomainError(errorCode, `${prefix} incorrect service "${credential.service}". This endpoint belongs to "s3".`);
  }
  if (!accepted.regions.has(credential.region)) {
    throw new DomainError(errorCode, `${prefix} the region '${credential.region}' is wrong; expecting '${accepted.primary}'`, {
      Region: accepted.primary,
    });
  }
}

function isDigits(value: string, length: number): boolean {
  if (value.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The last timestamp parsed and its value: a client's requests of one second all carry the same one. */
let lastAmzDate = '';
let lastAmzDateMs = 0;

/** Parses an ISO 8601 basic timestamp (`20130524T000000Z`) to epoch ms, or undefined. */
export function parseAmzDate(value: string): number | undefined {
  if (value === lastAmzDate) return lastAmzDateMs;
  const ms = parseAmzDateText(value);
  if (ms !== undefined) {
    lastAmzDate = value;
    lastAmzDateMs = ms;
  }
  return ms;
}

function parseAmzDateText(value: string): number | undefined {
  if (value.length !== 16 || value.charCodeAt(8) !== 84 /* T */ || value.charCodeAt(15) !== 90 /* Z */) return undefined;
  if (!isDigits(value.slice(0, 8), 8) || !isDigits(value.slice(9, 15), 6)) return undefined;
  const y = Number(value.slice(0, 4));
  const mo = Number(value.slice(4, 6));
  const d = Number(value.slice(6, 8));
  const h = Number(value.slice(9, 11));
  const mi = Number(value.slice(11, 13));
  const s = Number(value.slice(13, 15));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Formats epoch ms as an ISO 8601 basic timestamp. */
export function formatAmzDate(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2013-05-24T00:00:00.000Z
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
}

export interface SignedParts {
  method: string;
  path: string;
  canonicalQuery: string;
  headers: HeaderMap;
  /** The SignedHeaders list exactly as the client sent it, and split. */
  signedHeaders: string;
  signedHeaderNames: readonly string[];
  payloadHash: string;
  amzDate: string;
  credential: CredentialScope;
  /** The signature the client sent (hex). */
  signature: string;
}

export interface VerifiedSignature {
  credential: SigV4Credential;
  signingKey: Buffer;
  /** The verified signature (its lower-case hex seeds signed aws-chunked bodies; only they format it). */
  signature: Buffer;
}

function canonicalRequest(p: SignedParts): string {
  let headerBlock = '';
  for (const name of p.signedHeaderNames) headerBlock += name + ':' + canonicalHeaderValue(p.headers[name]) + '\n';
  return p.method + '\n' + p.path + '\n' + p.canonicalQuery + '\n' + headerBlock + '\n' + p.signedHeaders + '\n' + p.payloadHash;
}

/**
 * Recomputes the signature and compares it in constant time. An unknown access key is signed
 * with a stand-in secret (its signing key cached like any other) and only then refused, so the
 * response time does not tell whether the key exists.
 */
export function verifySignature(p: SignedParts, creds: CredentialLookup, cache: SigningKeyCache): VerifiedSignature {
  const { accessKeyId, date, region, service, scope } = p.credential;
  const credential = creds.bySigV4(accessKeyId);
  const signingKey = credential !== undefined
    ? cache.get(accessKeyId, credential.secretAccessKey, date, region, service)
    : cache.get(UNKNOWN_KEY_ID, UNKNOWN_KEY_SECRET, date, region, service);
  // Node decodes header values (and the request target) as latin-1, one char per wire byte: hashing
  // as latin-1 gives back the bytes the client signed (the SDKs sign and send UTF-8 metadata).
  const requestHash = sha256Hex(canonicalRequest(p), 'latin1');
  const stringToSign = ALGORITHM + '\n' + p.amzDate + '\n' + scope + '\n' + requestHash;
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const provided = Buffer.from(p.signature, 'hex');
  const matches = p.signature.length === 64 && provided.length === 32 && timingSafeEqual(provided, expected);
  if (credential === undefined) throw new DomainError('InvalidAccessKeyId');
  if (!matches) throw new DomainError('SignatureDoesNotMatch');
  return { credential, signingKey, signature: expected };
}

/**
 * Every `x-amz-*` header present must be signed, as S3 requires: otherwise anyone holding a
 * presigned URL or replaying a request could add, say, `x-amz-copy-source`. The payload hash
 * header is exempt because its value is itself a line of the canonical request.
 */
export function assertAmzHeadersSigned(headers: HeaderMap, signedHeaderNames: readonly string[]): void {
  for (const name in headers) {
    if (name.length > 6 && name.startsWith('x-amz-') && name !== 'x-amz-content-sha256' && headers[name] !== undefined &&
      !signedHeaderNames.includes(name)) {
      throw new DomainError('AccessDenied', 'There were headers present in the request which were not signed.', {
        headersNotSigned: name,
      });
    }
  }
}

/** Splits SignedHeaders; `host` must be among them. */
export function splitSignedHeaders(value: string, errorCode: ErrorCode): readonly string[] {
  const known = splitHeaderLists.get(value);
  if (known !== undefined) return known;
  const names = value.split(';');
  if (!names.includes('host')) {
    throw new DomainError(errorCode, 'The host header must be signed (SignedHeaders must include host).');
  }
  return memoise(splitHeaderLists, value, Object.freeze(names));
}
