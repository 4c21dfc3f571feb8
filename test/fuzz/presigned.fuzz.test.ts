import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticate, SigningKeyCache, type AuthRequest } from '../../gateway/auth/index.js';
import { BUCKET, KEY, asReceived, defaultLookup, escape, referenceSigner } from '../unit/auth/signing-support.js';
import { anyText, keyPath, queryRecord, wireQuery } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Presigned URLs: the gateway accepts what the AWS SDK presigns while it is valid, refuses it
 * after it expired or once anything in it changed, and answers any query that looks presigned
 * with a 4xx, never a crash.
 */

const SIGNED_AT = Date.UTC(2026, 10, 25, 12, 0, 0);
const WEEK = 604_800;
const creds = defaultLookup();

interface PresignCase {
  method: string;
  key: string;
  query: Record<string, string | string[]>;
  expiresIn: number;
}

async function presign(c: PresignCase): Promise<AuthRequest> {
  const path = `/${BUCKET}/${c.key.split('/').map(escape).join('/')}`;
  const out = await referenceSigner().presign({
    method: c.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: c.query,
    // As @aws-sdk/s3-request-presigner prepares it: UNSIGNED-PAYLOAD, hoisted into the query.
    headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  }, { signingDate: new Date(SIGNED_AT), expiresIn: c.expiresIn });
  const query = wireQuery(out.query as Record<string, string | string[]>);
  return { method: out.method, rawUrl: `${path}?${query}`, headers: asReceived(out.headers as Record<string, string>), nowMs: SIGNED_AT };
}

const presignCase: fc.Arbitrary<PresignCase> = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE'),
  key: keyPath,
  query: queryRecord,
  expiresIn: fc.integer({ min: 1, max: WEEK }),
});

/** The request target with one query parameter's value replaced. */
function withParam(rawUrl: string, name: string, value: string): string {
  const [path, query = ''] = rawUrl.split('?') as [string, string?];
  const pairs = query.split('&').map((p) => (p.split('=')[0] === name ? `${name}=${value}` : p));
  return `${path}?${pairs.join('&')}`;
}

describe('fuzz: presigned URLs', () => {
  it('accepts what the SDK presigns until it expires, then refuses it as expired', async () => {
    await fc.assert(fc.asyncProperty(presignCase, fc.double({ min: 0, max: 1, noNaN: true }), async (c, at) => {
      const req = await presign(c);
      const cache = new SigningKeyCache();
      const within = { ...req, nowMs: SIGNED_AT + Math.floor(at * c.expiresIn) * 1000 };
      expect(authenticate(within, creds, cache).principal).toEqual({ accessKeyId: KEY.accessKeyId, bucket: BUCKET });
      expect(clientOutcome(() => authenticate({ ...req, nowMs: SIGNED_AT + (c.expiresIn + 1) * 1000 }, creds, cache)))
        .toEqual({ ok: false, code: 'AccessDenied' });
    }), fuzzRuns(100));
  });

  it('refuses a presigned URL once any of its parameters, its path or its method changed', async () => {
    const params = ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'x-amz-content-sha256'];
    await fc.assert(fc.asyncProperty(presignCase, fc.constantFrom(...params, 'path', 'method', 'added'), anyText, async (c, what, value) => {
      const req = await presign(c);
      const changed = { ...req };
      if (what === 'path') changed.rawUrl = req.rawUrl.replace(`/${BUCKET}/`, `/${BUCKET}/x`);
      else if (what === 'method') changed.method = c.method === 'GET' ? 'PUT' : 'GET';
      else if (what === 'added') changed.rawUrl = `${req.rawUrl}&added=${escape(value)}`;
      else {
        const current = new URLSearchParams(req.rawUrl.split('?')[1]).get(what) ?? '';
        const replacement = value === current ? `${value}x` : value;
        changed.rawUrl = withParam(req.rawUrl, what, escape(replacement));
      }
      const outcome = clientOutcome(() => authenticate(changed, creds, new SigningKeyCache()));
      expect(outcome.ok).toBe(false);
    }), fuzzRuns(200));
  });

  it('answers any query that looks presigned with a 4xx, never a crash', () => {
    const value = fc.oneof(anyText, fc.constantFrom(
      'AWS4-HMAC-SHA256', `${KEY.accessKeyId}/20261125/us-east-1/s3/aws4_request`, `${KEY.accessKeyId}%2F20261125%2Fus-east-1%2Fs3%2Faws4_request`,
      '20261125T120000Z', '0', '-1', '604800', '604801', '1e3', '99999999999999999999', 'host', 'host;x-amz-date', '0'.repeat(64),
      'UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', '%', '%zz', '%00',
    ));
    const name = fc.constantFrom('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature',
      'X-Amz-Content-Sha256', 'x-amz-content-sha256', 'X-Amz-Security-Token', 'AWSAccessKeyId', 'Signature', 'x-id', 'uploads');
    const pairs = fc.array(fc.tuple(name, value, fc.boolean()), { maxLength: 9 });
    fc.assert(fc.property(pairs, fc.boolean(), (list, algorithmFirst) => {
      const query = list.map(([n, v, raw]) => `${n}=${raw ? v : escape(v)}`);
      if (algorithmFirst) query.unshift('X-Amz-Algorithm=AWS4-HMAC-SHA256');
      const req: AuthRequest = { method: 'GET', rawUrl: `/${BUCKET}/k?${query.join('&')}`, headers: { host: '127.0.0.1:9000' }, nowMs: SIGNED_AT };
      expect(clientOutcome(() => authenticate(req, creds, new SigningKeyCache())).ok).toBe(false);
    }), fuzzRuns(1000));
  });
});
