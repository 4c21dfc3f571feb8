import { DomainError } from '../errors.js';
import { firstValue, type QueryParams } from './http-types.js';

/** The most entries S3 puts in one listing page, and the default page size. */
export const MAX_LIST_ENTRIES = 1000;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

export type EncodingType = 'url';

/**
 * An integer query parameter parsed as S3 does: absent or empty → undefined (the default);
 * an int32 below zero → "Argument … must be an integer between 0 and 2147483647"; anything
 * else that is not a plain int32 (words, `+5`, spaces, overflow) → "Provided … not an integer
 * or within integer range". Both are 400 InvalidArgument naming the argument.
 */
function parseCount(query: QueryParams, param: string, argumentName: string): number | undefined {
  const raw = firstValue(query[param]);
  if (raw === undefined || raw === '') return undefined;
  const details = { ArgumentName: argumentName, ArgumentValue: raw };
  const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(n) || n > INT32_MAX || n < INT32_MIN) {
    throw new DomainError('InvalidArgument', `Provided ${param} not an integer or within integer range`, details);
  }
  if (n < 0) {
    throw new DomainError('InvalidArgument', `Argument ${argumentName} must be an integer between 0 and ${INT32_MAX}`, details);
  }
  return n === 0 ? 0 : n;
}

/** `encoding-type`: only `url` exists; absent or empty means none. */
export function parseEncodingType(query: QueryParams): EncodingType | undefined {
  const raw = firstValue(query['encoding-type']);
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'url') return 'url';
  throw new DomainError('InvalidArgument', 'Invalid Encoding Method specified in Request', {
    ArgumentName: 'encoding-type',
    ArgumentValue: raw,
  });
}

/** A page bound: `requested` is echoed in the response (S3 echoes what was asked), `pageSize` is used. */
export interface PageBound {
  requested: number;
  pageSize: number;
}

function pageBound(query: QueryParams, param: string, argumentName: string): PageBound {
  const requested = parseCount(query, param, argumentName) ?? MAX_LIST_ENTRIES;
  return { requested, pageSize: Math.min(requested, MAX_LIST_ENTRIES) };
}

const str = (query: QueryParams, name: string): string => firstValue(query[name]) ?? '';

export interface ListObjectsV1Params {
  prefix: string;
  delimiter: string;
  marker: string;
  maxKeys: PageBound;
  encodingType: EncodingType | undefined;
}

export function parseListObjectsV1Params(query: QueryParams): ListObjectsV1Params {
  return {
    prefix: str(query, 'prefix'),
    delimiter: str(query, 'delimiter'),
    marker: str(query, 'marker'),
    maxKeys: pageBound(query, 'max-keys', 'maxKeys'),
    encodingType: parseEncodingType(query),
  };
}

export interface ListObjectsV2Params {
  prefix: string;
  delimiter: string;
  /** The token as sent, echoed as `ContinuationToken`. */
  continuationToken: string | undefined;
  startAfter: string | undefined;
  /** Where the listing starts (exclusive): the token's position, else start-after, else ''. */
  after: string;
  fetchOwner: boolean;
  maxKeys: PageBound;
  encodingType: EncodingType | undefined;
}

export function parseListObjectsV2Params(query: QueryParams): ListObjectsV2Params {
  // An empty token is no token (clients send `continuation-token=` on a first page).
  const continuationToken = firstValue(query['continuation-token']) || undefined;
  const startAfter = firstValue(query['start-after']);
  const maxKeys = pageBound(query, 'max-keys', 'maxKeys');
  const encodingType = parseEncodingType(query);
  const tokenKey = continuationToken === undefined ? undefined : decodeContinuationToken(continuationToken);
  return {
    prefix: str(query, 'prefix'),
    delimiter: str(query, 'delimiter'),
    continuationToken,
    startAfter,
    after: tokenKey ?? startAfter ?? '',
    fetchOwner: str(query, 'fetch-owner').toLowerCase() === 'true',
    maxKeys,
    encodingType,
  };
}

export interface ListMultipartUploadsParams {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  /** Ignored by S3 without a key-marker, so empty then. */
  uploadIdMarker: string;
  maxUploads: PageBound;
  encodingType: EncodingType | undefined;
}

export function parseListMultipartUploadsParams(query: QueryParams): ListMultipartUploadsParams {
  const keyMarker = str(query, 'key-marker');
  return {
    prefix: str(query, 'prefix'),
    delimiter: str(query, 'delimiter'),
    keyMarker,
    uploadIdMarker: keyMarker === '' ? '' : str(query, 'upload-id-marker'),
    maxUploads: pageBound(query, 'max-uploads', 'max-uploads'),
    encodingType: parseEncodingType(query),
  };
}

export interface ListPartsParams {
  /** Parts numbered above this are listed; 0 lists from the first. */
  partNumberMarker: number;
  maxParts: PageBound;
}

export function parseListPartsParams(query: QueryParams): ListPartsParams {
  return {
    partNumberMarker: parseCount(query, 'part-number-marker', 'part-number-marker') ?? 0,
    maxParts: pageBound(query, 'max-parts', 'max-parts'),
  };
}

const TOKEN_VERSION = 1;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * An opaque ListObjectsV2 continuation token for a listing that resumes after `key` (the last
 * key or common prefix returned): base64url of `{"v":1,"k":key}`.
 */
export function encodeContinuationToken(key: string): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ v: TOKEN_VERSION, k: key }));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The key a continuation token resumes after; 400 InvalidArgument for anything we did not issue. */
export function decodeContinuationToken(token: string): string {
  const invalid = (): DomainError =>
    new DomainError('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
      ArgumentValue: token,
    });
  if (!BASE64URL.test(token)) throw invalid();
  let parsed: unknown;
  try {
    const binary = atob(token.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { v, k } = parsed as { v?: unknown; k?: unknown };
  if (v !== TOKEN_VERSION || typeof k !== 'string') throw invalid();
  return k;
}
