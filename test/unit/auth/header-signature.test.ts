import { beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { authenticate, SigningKeyCache, type AuthRequest, type CredentialLookup, type SigningScope } from '../../../gateway/auth/index.js';
import { errorOf } from '../../support/domain-errors.js';
import { codeOf } from '../../support/domain-errors.js';
import { BUCKET, KEY, NodeSha256, asReceived, defaultLookup, lookup, referenceSigner, wireUrl } from './signing-support.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface SignInput {
  method?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  at?: number;
  region?: string;
  service?: string;
}

async function signed(input: SignInput = {}): Promise<AuthRequest> {
  const path = input.path ?? '/photos/cat.jpg';
  const query = input.query ?? {};
  const signer = input.service === undefined ? referenceSigner(input.region)
    : new SignatureV4({ credentials: KEY, region: input.region ?? 'us-east-1', service: input.service, sha256: NodeSha256, uriEscapePath: false });
  const out = await signer.sign(
    {
      method: input.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path,
      query,
      headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': EMPTY_SHA, ...input.headers },
    },
    { signingDate: new Date(input.at ?? NOW) },
  );
  return {
    method: out.method,
    rawUrl: wireUrl(path, query),
    headers: asReceived(out.headers),
    nowMs: NOW,
  };
}

const creds = defaultLookup();
const run = (req: AuthRequest, c: CredentialLookup = creds, cache = new SigningKeyCache(), scope?: SigningScope) => authenticate(req, c, cache, scope);
const regions = (primary: string, ...more: string[]): SigningScope => ({ regions: new Set([primary, ...more]), primary });

describe('SigV4 Authorization header', () => {
  it('accepts the AWS documentation example (GET /test.txt with Range)', () => {
    const req: AuthRequest = {
      method: 'GET',
      rawUrl: '/test.txt',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY_SHA,
        'x-amz-date': '20130524T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
          'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
          'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      },
      nowMs: Date.UTC(2013, 4, 24, 0, 5, 0),
    };
    const docCreds = lookup({ AKIAIOSFODNN7EXAMPLE: { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', bucket: 'examplebucket' } });
    const result = run(req, docCreds);
    expect(result.principal).toEqual({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', bucket: 'examplebucket' });
    expect(result.payload).toEqual({ kind: 'sha256', expectedHex: EMPTY_SHA });
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, range: 'bytes=0-10' } }, docCreds))).toBe('SignatureDoesNotMatch');
  });

  it('accepts requests signed by @smithy/signature-v4', async () => {
    const cases: SignInput[] = [
      {},
      { method: 'PUT', headers: { 'content-type': 'image/jpeg', 'x-amz-meta-owner': 'ann' } },
      { method: 'GET', path: '/photos', query: { 'list-type': '2', prefix: 'a/b', delimiter: '/', 'max-keys': '10' } },
      { method: 'DELETE', path: '/photos/k', query: { versionId: 'null' } },
      { method: 'POST', path: '/photos/k', query: { uploads: '' } },
      { region: 'eu-central-1' },
      { region: 'auto' },
    ];
    for (const c of cases) {
      const result = run(await signed(c), creds, new SigningKeyCache(), regions('us-east-1', 'eu-central-1', 'auto'));
      expect(result.principal).toEqual({ accessKeyId: KEY.accessKeyId, bucket: BUCKET });
    }
  });

  it('refuses a credential scope for a region it does not serve, or a service other than s3 (issue 8: eu-west-1, iam)', async () => {
    const wrongRegion = errorOf(() => run(signedEuWest));
    expect(wrongRegion).toMatchObject({ code: 'AuthorizationHeaderMalformed', status: 400, details: { Region: 'us-east-1' } });
    expect(wrongRegion.message).toContain("the region 'eu-west-1' is wrong; expecting 'us-east-1'");
    const iam = await signed({ service: 'iam' });
    const wrongService = errorOf(() => run(iam));
    expect(wrongService).toMatchObject({ code: 'AuthorizationHeaderMalformed', status: 400 });
    expect(wrongService.message).toContain('incorrect service "iam"');
    // Accepted once configured (server.additional_regions); the primary region is the one named in refusals.
    expect(run(signedEuWest, creds, new SigningKeyCache(), regions('us-east-1', 'eu-west-1')).principal.bucket).toBe(BUCKET);
    const usEast = await signed();
    expect(errorOf(() => run(usEast, creds, new SigningKeyCache(), regions('eu-west-1'))).details).toEqual({ Region: 'eu-west-1' });
  });
  let signedEuWest: AuthRequest;
  beforeAll(async () => {
    signedEuWest = await signed({ region: 'eu-west-1' });
  });

  it('canonicalises header values: inner runs of spaces and tabs collapse, repeated headers join with ","', async () => {
    const spaced = await signed({ headers: { 'x-amz-meta-s': '  a   b \t c  ', 'content-type': 'text/plain;  charset=utf-8' } });
    expect(spaced.headers['x-amz-meta-s']).toBe('a   b \t c');
    expect(run(spaced).principal.accessKeyId).toBe(KEY.accessKeyId);

    const joined = await signed({ headers: { 'x-amz-meta-list': 'one,two  three' } });
    expect(run({ ...joined, headers: { ...joined.headers, 'x-amz-meta-list': ['one', 'two three'] } }).principal.bucket).toBe(BUCKET);
    // Node's own joining (", ") is not what was signed.
    expect(codeOf(() => run({ ...joined, headers: { ...joined.headers, 'x-amz-meta-list': 'one, two three' } })))
      .toBe('SignatureDoesNotMatch');
  });

  it('canonicalises the query: sorted by key then value, RFC 3986, empty values, ~ + %2F and unicode', async () => {
    const query = {
      zeta: ['2', '1', '10'],
      alpha: '',
      'k~ey': 'v~al',
      plus: 'a+b',
      slash: 'a/b%2F',
      'sp ace': 'x y',
      uni: 'ü€😀',
      bang: "!'()*",
    };
    const req = await signed({ path: '/photos', query });
    expect(run(req).principal.accessKeyId).toBe(KEY.accessKeyId);

    const url = req.rawUrl;
    // Equivalent spellings of the same bytes verify: lower-case hex, over-encoded unreserved characters, '+' for space.
    const equivalents = [
      url.replace('a%2Fb', 'a%2fb'),
      url.replace('k~ey', 'k%7Eey'),
      url.replace('x%20y', 'x+y'),
    ];
    for (const rawUrl of equivalents) {
      expect(rawUrl).not.toBe(url);
      expect(run({ ...req, rawUrl }).principal.bucket).toBe(BUCKET);
    }
    // Different bytes do not: a literal '+' is not %2B, a value moved to another key, a changed order of a repeated key is fine.
    expect(codeOf(() => run({ ...req, rawUrl: url.replace('a%2Bb', 'a+b') }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, rawUrl: url + '&extra=1' }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, rawUrl: url.replace('alpha=', 'alpha=x') }))).toBe('SignatureDoesNotMatch');
    const reordered = url.replace('zeta=2&zeta=1&zeta=10', 'zeta=10&zeta=1&zeta=2');
    expect(reordered).not.toBe(url);
    expect(run({ ...req, rawUrl: reordered }).principal.bucket).toBe(BUCKET);
    // A valueless parameter is the same as an empty value.
    expect(run({ ...req, rawUrl: url.replace('alpha=', 'alpha') }).principal.bucket).toBe(BUCKET);
  });

  it('uses the path exactly as sent: no decoding, no normalising', async () => {
    const path = '/photos/a%20b/%C3%BC%2Fx~/..//end';
    const req = await signed({ path, method: 'PUT' });
    expect(run(req).principal.bucket).toBe(BUCKET);
    for (const other of ['/photos/a b/%C3%BC%2Fx~/..//end', '/photos/a%20b/%C3%BC/x~/..//end', '/photos/a%20b/%c3%bc%2Fx~/..//end', '/photos/end']) {
      expect(codeOf(() => run({ ...req, rawUrl: other }))).toBe('SignatureDoesNotMatch');
    }
  });

  it('rejects tampering with the method, a signed header or the signature', async () => {
    const req = await signed({ method: 'PUT', headers: { 'x-amz-meta-a': '1' } });
    expect(codeOf(() => run({ ...req, method: 'DELETE' }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, 'x-amz-meta-a': '2' } }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, host: 'evil:9000' } }))).toBe('SignatureDoesNotMatch');
    const auth = req.headers['authorization'] as string;
    const last = auth.at(-1) === '0' ? '1' : '0';
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, authorization: auth.slice(0, -1) + last } }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, authorization: auth.slice(0, -2) } }))).toBe('SignatureDoesNotMatch');
    const wrongSecret = lookup({ [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey + 'x', bucket: BUCKET } });
    expect(codeOf(() => run(req, wrongSecret))).toBe('SignatureDoesNotMatch');
  });

  it('refuses x-amz-* headers that were not signed', async () => {
    const req = await signed({ method: 'PUT' });
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, 'x-amz-copy-source': '/photos/secret' } }))).toBe('AccessDenied');
    // Headers outside x-amz-* may be unsigned.
    expect(run({ ...req, headers: { ...req.headers, 'user-agent': 'x', 'content-type': 'a/b' } }).principal.bucket).toBe(BUCKET);
  });

  it('enforces the 15-minute clock skew in both directions', async () => {
    const minute = 60_000;
    for (const offset of [-14 * minute, 14 * minute, 15 * minute]) {
      expect(run(await signed({ at: NOW + offset })).principal.bucket).toBe(BUCKET);
    }
    const stale = await signed({ at: NOW - 16 * minute });
    const future = await signed({ at: NOW + 16 * minute });
    expect(codeOf(() => run(stale))).toBe('RequestTimeTooSkewed');
    expect(codeOf(() => run(future))).toBe('RequestTimeTooSkewed');
  });

  it('refuses an unknown access key after doing the same HMAC work', async () => {
    const req = await signed();
    const cache = new SigningKeyCache();
    const empty = lookup({});
    expect(codeOf(() => run(req, empty, cache))).toBe('InvalidAccessKeyId');
    // A stand-in signing key was derived (and cached) as for a real key.
    expect(cache.size).toBe(1);
    expect(codeOf(() => run(req, empty, cache))).toBe('InvalidAccessKeyId');
    expect(cache.size).toBe(1);
  });

  it('validates the header, the date and the payload hash', async () => {
    const req = await signed();
    const auth = req.headers['authorization'] as string;
    const withAuth = (a: string) => ({ ...req, headers: { ...req.headers, authorization: a } });
    expect(codeOf(() => run(withAuth(auth.replace('SignedHeaders=host;', 'SignedHeaders='))))).toBe('AuthorizationHeaderMalformed');
    expect(codeOf(() => run(withAuth(auth.replace('/us-east-1/s3/aws4_request', '/us-east-1/s3'))))).toBe('AuthorizationHeaderMalformed');
    expect(codeOf(() => run(withAuth(auth.replace('Credential=', 'Cred='))))).toBe('AuthorizationHeaderMalformed');
    expect(codeOf(() => run(withAuth(auth.replace('/20261125/', '/20261124/'))))).toBe('AuthorizationHeaderMalformed');
    expect(codeOf(() => run(withAuth(auth.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'))))).toBe('NotImplemented');

    const headers = { ...req.headers };
    delete headers['x-amz-date'];
    expect(codeOf(() => run({ ...req, headers }))).toBe('AccessDenied');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, 'x-amz-date': '2026-11-25T12:00:00Z' } }))).toBe('AccessDenied');

    const noHash = { ...req.headers };
    delete noHash['x-amz-content-sha256'];
    expect(codeOf(() => run({ ...req, headers: noHash }))).toBe('InvalidRequest');
  });

  it('maps x-amz-content-sha256 to the payload mode', async () => {
    const hex = 'ab'.repeat(32);
    const cases: [string, unknown][] = [
      ['UNSIGNED-PAYLOAD', { kind: 'unsigned' }],
      [hex, { kind: 'sha256', expectedHex: hex }],
      [hex.toUpperCase(), { kind: 'sha256', expectedHex: hex }],
      ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { kind: 'streaming-unsigned-trailer' }],
    ];
    for (const [value, mode] of cases) {
      const result = run(await signed({ method: 'PUT', headers: { 'x-amz-content-sha256': value } }));
      expect(result.payload).toEqual(mode);
    }
    for (const trailer of [false, true]) {
      const value = trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
      const req = await signed({ method: 'PUT', headers: { 'x-amz-content-sha256': value } });
      const result = run(req);
      const seed = /Signature=([0-9a-f]{64})/.exec(req.headers['authorization'] as string)?.[1];
      expect(result.payload).toMatchObject({ kind: 'streaming-signed', trailer, seedSignature: seed, amzDate: '20261125T120000Z', scope: '20261125/us-east-1/s3/aws4_request' });
    }
    for (const [value, code] of [['nonsense', 'InvalidArgument'], ['ab'.repeat(31), 'InvalidArgument'], ['STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', 'NotImplemented']]) {
      const req = await signed({ method: 'PUT', headers: { 'x-amz-content-sha256': value as string } });
      expect(codeOf(() => run(req))).toBe(code);
    }
  });
});
