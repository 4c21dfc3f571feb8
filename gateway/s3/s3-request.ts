import type { IncomingMessage } from 'node:http';
import { newRequestId } from '../../infra/ids.js';
import type { QueryParams } from '../../domain/s3/http-types.js';
import type { PayloadMode, Principal } from '../auth/index.js';
import type { Cause } from '../../services/event-factory.js';
import type { S3Operation } from './operations.js';
import type { ReadSignal } from '../../infra/backend/index.js';

export interface S3Request {
  id: string;
  method: string;
  raw: IncomingMessage;
  rawUrl: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
  /** The same query as a record, for the domain/s3 parsers. */
  params: QueryParams;
  operation: S3Operation;
  principal: Principal;
  payload: PayloadMode;
  cause: Cause;
  nowMs: number;
  /** Aborted when the client goes away, so backend reads stop too. */
  signal: ReadSignal;
}

/** A request id from X-Request-Id when it is 1–64 hex characters (as the original), else a new one. */
export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  if (typeof given === 'string' && /^[0-9a-fA-F]{1,64}$/.test(given)) return given;
  return newRequestId();
}

export function queryRecord(query: URLSearchParams): QueryParams {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function rawQueryOf(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  return q === -1 ? '' : rawUrl.slice(q + 1);
}

/** The `Resource` of an error body: the request path. */
export function resourceOf(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  return q === -1 ? rawUrl : rawUrl.slice(0, q);
}

/**
 * The request's headers for its signature check: every value as sent, a repeated header's values
 * apart (SigV4 joins them with ',' where Node's `headers` joins with ', ' or keeps only the first).
 * That is `headers` itself when each header line gave a name of its own (nothing joined, dropped
 * or removed by a hook), else `headersDistinct`, which a request builds on first use: building it
 * on every request showed in the profile of the small GET.
 */
export function headersForSignature(raw: IncomingMessage): NodeJS.Dict<string | string[]> {
  const headers = raw.headers;
  let names = 0;
  for (const name in headers) if (name !== '') names += 1;
  return names * 2 === raw.rawHeaders.length ? headers : raw.headersDistinct;
}

export function header(raw: IncomingMessage, name: string): string | undefined {
  const v = raw.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
