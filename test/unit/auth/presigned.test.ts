import { beforeAll, describe, expect, it } from 'vitest';
import { authenticate, SigningKeyCache, type AuthRequest } from '../../../gateway/auth/index.js';
import { codeOf, errorOf } from '../../support/domain-errors.js';
import { BUCKET, KEY, asReceived, defaultLookup, lookup, referenceSigner, wireUrl } from './signing-support.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const creds = defaultLookup();
const run = (req: AuthRequest) => authenticate(req, creds, new SigningKeyCache());

interface PresignInput {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  expiresIn?: number;
  at?: number;
  region?: string;
}

async function presigned(input: PresignInput = {}): Promise<AuthRequest> {
  const path = input.path ?? '/photos/cat.jpg';
  const out = await referenceSigner(input.region).presign(
    {
      method: input.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path,
      query: { ...input.query },
      // As @aws-sdk/s3-request-presigner prepares the request: the payload is UNSIGNED-PAYLOAD
      // (the header is hoisted into the query) and content-type is left unsigned.
      headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...input.headers },
    },
    {
      signingDate: new Date(input.at ?? NOW),
      expiresIn: input.expiresIn ?? 3600,
      unsignableHeaders: new Set(['content-type']),
    },
  );
  return {
    method: out.method,
    rawUrl: wireUrl(path, out.query as Record<string, string>),
    headers: asReceived(out.headers),
    nowMs: NOW,
  };
}

describe('presigned URLs', () => {
  it('refuses a credential scope for a region it does not serve, or a service other than s3 (issue 8)', async () => {
    const wrongRegion = errorOf(() => run(euWest));
    expect(wrongRegion).toMatchObject({ code: 'AuthorizationQueryParametersError', status: 400, details: { Region: 'us-east-1' } });
    expect(wrongRegion.message).toContain("the region 'eu-west-1' is wrong; expecting 'us-east-1'");
    const iam = euWest.rawUrl.replace('%2Feu-west-1%2Fs3%2F', '%2Fus-east-1%2Fiam%2F');
    expect(iam).not.toBe(euWest.rawUrl);
    const wrongService = errorOf(() => run({ ...euWest, rawUrl: iam }));
    expect(wrongService).toMatchObject({ code: 'AuthorizationQueryParametersError', status: 400 });
    expect(wrongService.message).toContain('incorrect service "iam"');
    const scope = { regions: new Set(['us-east-1', 'eu-west-1']), primary: 'us-east-1' };
    expect(authenticate(euWest, creds, new SigningKeyCache(), scope).principal.bucket).toBe(BUCKET);
  });
  let euWest: AuthRequest;
  beforeAll(async () => {
    euWest = await presigned({ region: 'eu-west-1' });
  });

  it('accepts the AWS documentation example', () => {
    const req: AuthRequest = {
      method: 'GET',
      rawUrl: '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      headers: { host: 'examplebucket.s3.amazonaws.com' },
      nowMs: Date.UTC(2013, 4, 24, 12, 0, 0),
    };
    const docCreds = lookup({ AKIAIOSFODNN7EXAMPLE: { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', bucket: 'examplebucket' } });
    const result = authenticate(req, docCreds, new SigningKeyCache());
    expect(result).toEqual({ principal: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', bucket: 'examplebucket' }, payload: { kind: 'unsigned' } });
    // One second after X-Amz-Date + 86400 s it has expired.
    const late = { ...req, nowMs: Date.UTC(2013, 4, 25, 0, 0, 1) };
    expect(codeOf(() => authenticate(late, docCreds, new SigningKeyCache()))).toBe('AccessDenied');
    expect(authenticate({ ...req, nowMs: Date.UTC(2013, 4, 25, 0, 0, 0) }, docCreds, new SigningKeyCache()).principal.bucket).toBe('examplebucket');
  });

  it('accepts URLs presigned by @smithy/signature-v4, with query parameters and hoisted x-amz-* headers', async () => {
    for (const input of [
      {},
      { method: 'PUT' },
      { path: '/photos/a%20b/%C3%BC', query: { partNumber: '3', uploadId: 'a+b/c~' } },
      { method: 'PUT', headers: { 'x-amz-meta-owner': 'ann', 'content-type': 'image/png' } },
    ] satisfies PresignInput[]) {
      const req = await presigned(input);
      expect(run(req)).toEqual({ principal: { accessKeyId: KEY.accessKeyId, bucket: BUCKET }, payload: { kind: 'unsigned' } });
    }
  });

  it('expires, and refuses URLs dated more than 15 minutes ahead', async () => {
    const req = await presigned({ expiresIn: 60 });
    expect(run({ ...req, nowMs: NOW + 60_000 }).principal.bucket).toBe(BUCKET);
    const expired = codeOf(() => run({ ...req, nowMs: NOW + 61_000 }));
    expect(expired).toBe('AccessDenied');
    try {
      run({ ...req, nowMs: NOW + 61_000 });
    } catch (e) {
      expect((e as Error).message).toBe('Request has expired.');
    }
    expect(run({ ...req, nowMs: NOW - 14 * 60_000 }).principal.bucket).toBe(BUCKET);
    expect(codeOf(() => run({ ...req, nowMs: NOW - 16 * 60_000 }))).toBe('AccessDenied');
  });

  it('requires 0 < X-Amz-Expires <= 604800 and every parameter', async () => {
    const week = await presigned({ expiresIn: 604_800 });
    expect(run({ ...week, nowMs: NOW + 604_800_000 }).principal.bucket).toBe(BUCKET);
    const withExpires = (value: string) => ({ ...week, rawUrl: week.rawUrl.replace('X-Amz-Expires=604800', `X-Amz-Expires=${value}`) });
    // Valid for no time or for longer than a week: 403 AccessDenied, saying which.
    for (const [bad, message] of [['0', /X-Amz-Expires is 0/], ['604801', /at most a week/], ['99999999999', /at most a week/]] as const) {
      expect(codeOf(() => run(withExpires(bad)))).toBe('AccessDenied');
      expect(() => run(withExpires(bad))).toThrow(message);
    }
    for (const bad of ['-5', 'abc', '', '1e3']) expect(codeOf(() => run(withExpires(bad)))).toBe('AuthorizationQueryParametersError');
    for (const param of ['X-Amz-Credential', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-Expires']) {
      const rawUrl = week.rawUrl.replace(new RegExp(`&?${param}=[^&]*`), '');
      expect(rawUrl).not.toBe(week.rawUrl);
      expect(codeOf(() => run({ ...week, rawUrl }))).toBe('AuthorizationQueryParametersError');
    }
    expect(codeOf(() => run({ ...week, rawUrl: week.rawUrl.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1') })))
      .toBe('AuthorizationQueryParametersError');
    expect(codeOf(() => run({ ...week, rawUrl: week.rawUrl.replace('X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=range') })))
      .toBe('AuthorizationQueryParametersError');
  });

  it('rejects a tampered URL, header or signature, and unsigned x-amz-* headers', async () => {
    const req = await presigned({ method: 'PUT', query: { partNumber: '1' } });
    expect(codeOf(() => run({ ...req, rawUrl: req.rawUrl.replace('partNumber=1', 'partNumber=2') }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, rawUrl: req.rawUrl.replace('/photos/cat.jpg', '/photos/dog.jpg') }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, method: 'DELETE' }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, host: 'other' } }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, rawUrl: req.rawUrl.replace(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=g') }))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => run({ ...req, headers: { ...req.headers, 'x-amz-copy-source': 'photos/secret' } }))).toBe('AccessDenied');
    expect(codeOf(() => authenticate(req, lookup({}), new SigningKeyCache()))).toBe('InvalidAccessKeyId');
  });

  it('takes the payload hash from x-amz-content-sha256 when the signer used one', async () => {
    const hex = 'cd'.repeat(32);
    const req = await presigned({ method: 'PUT', headers: { 'x-amz-content-sha256': hex } });
    // The presigner hoists the header into the query, where it also becomes the payload hash.
    expect(req.rawUrl).toContain(`x-amz-content-sha256=${hex}`);
    expect(run(req).payload).toEqual({ kind: 'sha256', expectedHex: hex });
    expect(codeOf(() => run({ ...req, rawUrl: req.rawUrl.replace(hex, 'ab'.repeat(32)) }))).toBe('SignatureDoesNotMatch');
    const chunked = await presigned({ method: 'PUT', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } });
    expect(codeOf(() => run(chunked))).toBe('InvalidRequest');
  });
});
