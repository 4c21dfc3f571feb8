import { getCanonicalQuery, getSigningKey } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticate, SigningKeyCache, type AuthRequest } from '../../gateway/auth/index.js';
import { canonicalQueryString, parseRawQuery } from '../../gateway/auth/canonical.js';
import { deriveSigningKey } from '../../gateway/auth/signing-key-cache.js';
import { BUCKET, KEY, NodeSha256, asReceived, defaultLookup, escape, referenceSigner } from '../unit/auth/signing-support.js';
import { headerName, headerText, keyPath, queryRecord, wireQuery } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * SigV4 against the AWS SDK's signer (@smithy/signature-v4): the signing key, the canonical
 * query, and whole requests the SDK signs — the gateway accepts every one of them and refuses
 * every one changed after signing, and nothing it is sent makes it throw anything but a 4xx.
 */

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The same characters encoded differently: lower-case hex, unreserved characters escaped too. */
function reEncode(wire: string, choices: boolean[]): string {
  let i = 0;
  return wire.replace(/%[0-9A-F]{2}|[A-Za-z0-9\-._~]/g, (m) => {
    const pick = choices[i++ % Math.max(1, choices.length)] ?? false;
    if (!pick) return m;
    return m.startsWith('%') ? m.toLowerCase() : `%${m.charCodeAt(0).toString(16).toUpperCase()}`;
  });
}

interface SignedCase {
  method: string;
  key: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  payloadHash: string;
}

const signedCase: fc.Arbitrary<SignedCase> = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
  key: keyPath,
  query: queryRecord,
  headers: fc.dictionary(
    fc.oneof(headerName.map((n) => `x-amz-meta-${n}`), headerName.filter((n) => !['host', 'authorization', 'content-length', 'expect', 'connection', 'transfer-encoding', 'user-agent', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token', 'x-amzn-trace-id', 'date'].includes(n) && !n.startsWith('proxy-') && !n.startsWith('sec-'))),
    headerText.filter((v) => v.trim() !== ''),
    { maxKeys: 4 },
  ),
  payloadHash: fc.oneof(fc.constant(EMPTY_SHA), fc.constant('UNSIGNED-PAYLOAD'), fc.stringMatching(/^[0-9a-f]{64}$/)),
});

async function signWithSdk(c: SignedCase): Promise<AuthRequest> {
  const path = `/${BUCKET}/${c.key.split('/').map(escape).join('/')}`;
  const out = await referenceSigner().sign({
    method: c.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: c.query,
    headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': c.payloadHash, ...c.headers },
  }, { signingDate: new Date(NOW) });
  const query = wireQuery(c.query, []);
  // Sent as UTF-8 bytes, which Node hands the server as latin-1 characters.
  const wire = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k, Buffer.from(String(v), 'utf8').toString('latin1')]));
  return { method: out.method, rawUrl: query ? `${path}?${query}` : path, headers: asReceived(wire), nowMs: NOW };
}

const creds = defaultLookup();

describe('fuzz: SigV4 against the AWS SDK signer', () => {
  it('derives the signing key the SDK derives, for any secret, date, region and service', async () => {
    await fc.assert(fc.asyncProperty(
      fc.string({ unit: 'grapheme', maxLength: 60 }), fc.stringMatching(/^\d{8}$/), fc.string({ maxLength: 20 }), fc.string({ maxLength: 12 }),
      async (secret, date, region, service) => {
        const sdk = await getSigningKey(NodeSha256, { accessKeyId: 'AKID', secretAccessKey: secret }, date, region, service);
        expect(deriveSigningKey(secret, date, region, service).equals(Buffer.from(sdk))).toBe(true);
      },
    ), fuzzRuns(200));
  });

  it('builds the canonical query the SDK builds, however the wire encodes it', () => {
    fc.assert(fc.property(queryRecord, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.boolean(), { maxLength: 12 }), (query, order, choices) => {
      const wire = reEncode(wireQuery(query, order), choices);
      expect(canonicalQueryString(parseRawQuery(wire))).toBe(getCanonicalQuery({ query } as never));
    }), fuzzRuns(500));
  });

  it('accepts every request the SDK signs, and refuses it once any signed part changed', async () => {
    const cache = new SigningKeyCache();
    await fc.assert(fc.asyncProperty(signedCase, fc.nat(), fc.constantFrom('method', 'path', 'query', 'header', 'payload', 'signature'), async (c, pick, what) => {
      const req = await signWithSdk(c);
      expect(authenticate(req, creds, cache)).toMatchObject({ principal: { accessKeyId: KEY.accessKeyId, bucket: BUCKET } });

      const changed: AuthRequest = { ...req, headers: { ...req.headers } };
      if (what === 'method') changed.method = c.method === 'GET' ? 'HEAD' : 'GET';
      else if (what === 'path') changed.rawUrl = req.rawUrl.replace(`/${BUCKET}/`, `/${BUCKET}/x`);
      else if (what === 'query') changed.rawUrl = `${req.rawUrl}${req.rawUrl.includes('?') ? '&' : '?'}added=${pick}`;
      else if (what === 'payload') changed.headers['x-amz-content-sha256'] = c.payloadHash === EMPTY_SHA ? 'UNSIGNED-PAYLOAD' : EMPTY_SHA;
      else if (what === 'signature') {
        const auth = String(req.headers.authorization);
        const at = auth.length - 1 - (pick % 64);
        changed.headers.authorization = auth.slice(0, at) + (auth[at] === '0' ? '1' : '0') + auth.slice(at + 1);
      } else {
        const names = Object.keys(c.headers);
        const name = names[pick % Math.max(1, names.length)] ?? 'x-amz-meta-added';
        changed.headers[name] = `${String(changed.headers[name] ?? '')}changed`;
      }
      const outcome = clientOutcome(() => authenticate(changed, creds, cache));
      expect(outcome).toEqual({ ok: false, code: what === 'header' && !(Object.keys(c.headers).length) ? 'AccessDenied' : 'SignatureDoesNotMatch' });
    }), fuzzRuns(150));
  });

  it('answers any Authorization header, query or date with a 4xx, never a crash', () => {
    const piece = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(
      'AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 ', 'Credential=', `${KEY.accessKeyId}/20261125/us-east-1/s3/aws4_request`, 'SignedHeaders=',
      'host;x-amz-date', 'Signature=', '0'.repeat(64), ',', ', ', '=', '/', 'aws4_request', 'X-Amz-Algorithm=AWS4-HMAC-SHA256', '&',
      'X-Amz-Credential=', 'X-Amz-Date=20261125T120000Z', 'X-Amz-Expires=', 'X-Amz-SignedHeaders=host', 'X-Amz-Signature=', '%', '%zz', '\u0000',
    ));
    const text = fc.array(piece, { maxLength: 10 }).map((p) => p.join(''));
    fc.assert(fc.property(text, text, fc.option(text), fc.option(text), fc.option(text), (authorization, query, amzDate, sha, date) => {
      const headers: Record<string, string> = { host: '127.0.0.1:9000', authorization };
      if (amzDate !== null) headers['x-amz-date'] = amzDate;
      if (sha !== null) headers['x-amz-content-sha256'] = sha;
      if (date !== null) headers.date = date;
      for (const h of [headers, { host: '127.0.0.1:9000', ...(amzDate === null ? {} : { 'x-amz-date': amzDate }) }]) {
        const outcome = clientOutcome(() => authenticate({ method: 'GET', rawUrl: `/${BUCKET}/k?${query}`, headers: h, nowMs: NOW }, creds, new SigningKeyCache()));
        expect(outcome.ok).toBe(false);
      }
    }), fuzzRuns(1000));
  });
});
