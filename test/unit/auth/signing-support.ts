import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../../bench/signing.js';
import type { CredentialLookup, HeaderMap, ProxyToken, SigV4Credential } from '../../../gateway/auth/index.js';

/** Test support: the AWS reference signer (@smithy/signature-v4) wired to node:crypto. */

export { NodeSha256 };


export const KEY = { accessKeyId: 'AKIDEXAMPLE0001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE' };
export const BUCKET = 'photos';

export function referenceSigner(region = 'us-east-1', credentials = KEY): SignatureV4 {
  return new SignatureV4({ credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: true });
}

export function lookup(keys: Record<string, SigV4Credential>, tokens: ProxyToken[] = []): CredentialLookup {
  return {
    bySigV4: (id) => keys[id],
    tokens: () => tokens,
  };
}

export const defaultLookup = (): CredentialLookup =>
  lookup({ [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey, bucket: BUCKET } });

/** SigV4 UriEncode, as AWS SDKs put query components on the wire. */
export function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The request target an SDK would send: the path as given, the query encoded in the given order. */
export function wireUrl(path: string, query: Record<string, string | string[]> = {}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(`${escape(k)}=${escape(value)}`);
  }
  return parts.length === 0 ? path : `${path}?${parts.join('&')}`;
}

/** Headers as Node's HTTP parser delivers them: lower-case names, leading/trailing whitespace gone. */
export function asReceived(headers: Record<string, string>): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v.replace(/^[ \t]+|[ \t]+$/g, '');
  return out;
}
