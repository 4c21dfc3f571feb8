import { createHmac } from 'node:crypto';
import { sha256Hex } from '../hash.js';
import { encodeRfc3986 } from './s3-encoding.js';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export { sha256Hex };

export interface RequestToSign {
  method: string;
  /** Already encoded, exactly as sent. */
  path: string;
  /** Decoded names and values; the signer encodes them as `buildQueryString` does. */
  query: Record<string, string>;
  /** Exactly the headers to sign, lower-case names, including `host`. */
  headers: Record<string, string>;
}

/** Headers the AWS SDK's signer never signs (a proxy on the way may change them). */
const unsignable = new Set([
  'authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);
const isSignable = (name: string): boolean => !unsignable.has(name) && !name.startsWith('proxy-') && !name.startsWith('sec-');

/** Whether a header value is already canonical: no line break or tab, no run of spaces, no space at either end. */
function isCanonicalValue(value: string): boolean {
  const n = value.length;
  if (n > 0 && (value.charCodeAt(0) === 32 || value.charCodeAt(n - 1) === 32)) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 9 || c === 10 || c === 13 || (c === 32 && value.charCodeAt(i + 1) === 32)) return false;
  }
  return true;
}

/**
 * A header value as SigV4 canonicalises it: line breaks and runs of blanks to one space, trimmed.
 * A value that is canonical already (nearly all) is returned without the three replaces.
 */
const canonicalValue = (value: string): string =>
  isCanonicalValue(value) ? value : value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');

let amzSecond = Number.NaN;
let amzSecondText = '';
/** `20261202T211905Z`, formatted once per second: every backend request asks, and the formatting showed in the profile. */
function amzDateOf(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== amzSecond) {
    amzSecondText = new Date(second * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    amzSecond = second;
  }
  return amzSecondText;
}

/**
 * SigV4 for S3 requests to one backend, synchronously and with the signing key derived once per
 * day (the AWS SDK's signer, which this reproduces byte for byte, re-derives its cache key with an
 * HMAC and awaits half a dozen promises per request). Only the headers handed in are signed
 * (host, the x-amz-* set, content-md5/content-type, range); the payload hash is the caller's.
 */
export class RequestSigner {
  readonly #region: string;
  readonly #accessKeyId: string;
  // A private field: util.inspect and JSON never show it.
  readonly #secretAccessKey: string;
  #keyDate = '';
  #key: Buffer = Buffer.alloc(0);

  constructor(region: string, accessKeyId: string, secretAccessKey: string) {
    this.#region = region;
    this.#accessKeyId = accessKeyId;
    this.#secretAccessKey = secretAccessKey;
  }

  /** Returns the headers to send: the input plus x-amz-date, x-amz-content-sha256 and authorization. */
  sign(request: RequestToSign, payloadHash: string, nowMs = Date.now()): Record<string, string> {
    const amzDate = amzDateOf(nowMs);
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {};
    const given = request.headers;
    for (const name in given) {
      const value = given[name];
      // Like the SDK's signer: the headers it generates replace any given, and an unset one is left out.
      if (value !== undefined && name !== 'authorization' && name !== 'x-amz-date' && name !== 'date') headers[name] = value;
    }
    headers['x-amz-content-sha256'] = payloadHash;
    headers['x-amz-date'] = amzDate;
    const names = Object.keys(headers).filter(isSignable).sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${canonicalValue(headers[name] as string)}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `${request.method}\n${request.path}\n${canonicalQuery(request.query)}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${date}/${this.#region}/s3/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.#signingKey(date)).update(stringToSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.#accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  #signingKey(date: string): Buffer {
    if (this.#keyDate !== date) {
      const kDate = createHmac('sha256', `AWS4${this.#secretAccessKey}`).update(date).digest();
      const kRegion = createHmac('sha256', kDate).update(this.#region).digest();
      const kService = createHmac('sha256', kRegion).update('s3').digest();
      this.#key = createHmac('sha256', kService).update('aws4_request').digest();
      this.#keyDate = date;
    }
    return this.#key;
  }
}

/** Names and values RFC 3986-encoded, sorted by encoded name; a bare name signs as `name=`. */
function canonicalQuery(query: Record<string, string>): string {
  let empty = true;
  for (const _ in query) {
    empty = false;
    break;
  }
  if (empty) return '';
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(query)) {
    if (name.toLowerCase() !== 'x-amz-signature') pairs.push([encodeRfc3986(name), encodeRfc3986(value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}
