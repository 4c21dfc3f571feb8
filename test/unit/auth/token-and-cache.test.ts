import { describe, expect, it } from 'vitest';
import { authenticate, deriveSigningKey, SigningKeyCache, type CredentialLookup, type ProxyToken } from '../../../gateway/auth/index.js';
import { codeOf } from '../../support/domain-errors.js';
import { KEY, asReceived, referenceSigner } from './signing-support.js';

const tokens: ProxyToken[] = [
  { token: 'tok-alpha-0123456789', bucket: 'alpha', tokenId: 'a1' },
  { token: 'tok-beta', bucket: 'beta', tokenId: 'b1' },
  { token: 'tok-gamma-longer-than-the-others-by-far', bucket: 'gamma', tokenId: 'g1' },
];

/** Counts how many configured tokens each authentication looked at. */
function countingLookup(): CredentialLookup & { visited: number } {
  const l = {
    visited: 0,
    bySigV4: () => undefined,
    *tokens() {
      for (const t of tokens) {
        l.visited++;
        yield t;
      }
    },
  };
  return l;
}

const req = (headers: Record<string, string>) => ({ method: 'GET', rawUrl: '/beta/k', headers, nowMs: 0 });

describe('legacy X-Proxy-Token', () => {
  it('maps a configured token to its bucket, comparing against every token', () => {
    const creds = countingLookup();
    const result = authenticate(req({ 'x-proxy-token': 'tok-alpha-0123456789' }), creds, new SigningKeyCache());
    expect(result).toEqual({ principal: { accessKeyId: 'token:a1', bucket: 'alpha' }, payload: { kind: 'unsigned' } });
    // No early exit on the first (matching) token.
    expect(creds.visited).toBe(3);
    expect(authenticate(req({ 'x-proxy-token': 'tok-beta' }), creds, new SigningKeyCache()).principal.bucket).toBe('beta');
  });

  it('refuses unknown, prefix and empty tokens, and requests without credentials', () => {
    const creds = countingLookup();
    for (const token of ['tok-bet', 'tok-beta ', 'TOK-BETA', 'tok-alpha', '']) {
      expect(codeOf(() => authenticate(req({ 'x-proxy-token': token }), creds, new SigningKeyCache()))).toBe('AccessDenied');
    }
    expect(codeOf(() => authenticate(req({}), creds, new SigningKeyCache()))).toBe('AccessDenied');
    // A non-SigV4 Authorization header is not a credential either.
    expect(codeOf(() => authenticate(req({ authorization: 'AWS AKID:c2ln' }), creds, new SigningKeyCache()))).toBe('AccessDenied');
  });

  it('honours a declared body hash or unsigned aws-chunked encoding, never signed chunks', () => {
    const creds = countingLookup();
    const hex = 'ef'.repeat(32);
    const r = (v: string) => authenticate(req({ 'x-proxy-token': 'tok-beta', 'x-amz-content-sha256': v }), creds, new SigningKeyCache());
    expect(r(hex).payload).toEqual({ kind: 'sha256', expectedHex: hex });
    expect(r('STREAMING-UNSIGNED-PAYLOAD-TRAILER').payload).toEqual({ kind: 'streaming-unsigned-trailer' });
    expect(codeOf(() => r('STREAMING-AWS4-HMAC-SHA256-PAYLOAD'))).toBe('InvalidRequest');
  });

  it('is consulted only after a SigV4 header, which wins even when it fails', () => {
    const creds = countingLookup();
    const headers = {
      'x-proxy-token': 'tok-beta',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
      'x-amz-date': '20260101T000000Z',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      host: 'h',
    };
    expect(codeOf(() => authenticate({ ...req(headers), nowMs: Date.UTC(2026, 0, 1) }, creds, new SigningKeyCache())))
      .toBe('InvalidAccessKeyId');
    expect(creds.visited).toBe(0);
  });
});

describe('SigningKeyCache', () => {
  it('derives the key from the AWS documentation example', () => {
    // docs.aws.amazon.com "Examples of how to derive a signing key for Signature Version 4".
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    expect(key.toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('reuses keys, re-derives when the secret changed, is bounded and can be cleared', () => {
    const cache = new SigningKeyCache(3);
    const k1 = cache.get('A', 's1', '20260101', 'us-east-1', 's3');
    expect(cache.get('A', 's1', '20260101', 'us-east-1', 's3')).toBe(k1);
    const rotated = cache.get('A', 's2', '20260101', 'us-east-1', 's3');
    expect(rotated.equals(k1)).toBe(false);
    expect(rotated.equals(deriveSigningKey('s2', '20260101', 'us-east-1', 's3'))).toBe(true);
    expect(cache.size).toBe(1);
    cache.get('B', 's', '20260101', 'us-east-1', 's3');
    cache.get('C', 's', '20260101', 'us-east-1', 's3');
    cache.get('D', 's', '20260101', 'us-east-1', 's3');
    expect(cache.size).toBe(3);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('does not accept an old secret after a credential reload, even if nobody cleared the cache', async () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const out = await referenceSigner().sign(
      { method: 'GET', protocol: 'http:', hostname: 'h', path: '/b/k', query: {}, headers: { host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { signingDate: new Date(now) },
    );
    const request = { method: 'GET', rawUrl: '/b/k', headers: asReceived(out.headers), nowMs: now };
    let secret = KEY.secretAccessKey;
    const creds: CredentialLookup = {
      bySigV4: (id) => (id === KEY.accessKeyId ? { secretAccessKey: secret, bucket: 'b' } : undefined),
      tokens: () => [],
    };
    const cache = new SigningKeyCache();
    expect(authenticate(request, creds, cache).principal.accessKeyId).toBe(KEY.accessKeyId);
    secret = 'rotated-secret';
    expect(codeOf(() => authenticate(request, creds, cache))).toBe('SignatureDoesNotMatch');
  });
});
