import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EMPTY_BODY_SHA256, RequestSigner, UNSIGNED_PAYLOAD } from '../../../infra/backend/request-signer.js';
import { encodeKeyPath } from '../../../infra/backend/s3-encoding.js';
import { NodeSha256 } from '../../../bench/signing.js';
import { headerName, headerText, keyPath, queryRecord } from '../../fuzz/arbitraries.js';

/**
 * The backend signer against the AWS SDK's (@smithy/signature-v4), which it replaced on the hot
 * path: for the same request, time and credentials, the same headers byte for byte.
 */

const CREDENTIALS = { accessKeyId: 'AKIDBACKEND0001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE' };

function reference(region: string): SignatureV4 {
  const credentials = { ...CREDENTIALS };
  return new SignatureV4({ service: 's3', region, credentials: () => Promise.resolve(credentials), sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
}

interface Case {
  region: string;
  method: string;
  key: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  payloadHash: string;
  nowMs: number;
}

async function both(c: Case): Promise<{ ours: Record<string, string>; sdk: Record<string, string> }> {
  const path = `/bucket/${encodeKeyPath(c.key)}`;
  const headers = { host: '127.0.0.1:9000', ...c.headers };
  const ours = new RequestSigner(c.region, CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey)
    .sign({ method: c.method, path, query: c.query, headers }, c.payloadHash, c.nowMs);
  const signed = await reference(c.region).sign(
    { method: c.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: c.query, headers: { ...headers, 'x-amz-content-sha256': c.payloadHash } },
    { signingDate: new Date(c.nowMs) },
  );
  return { ours, sdk: signed.headers };
}

describe('backend request signing', () => {
  it('signs a GET with a range, a PUT with metadata and a multipart call as the AWS SDK does', async () => {
    const nowMs = Date.UTC(2026, 11, 2, 21, 19, 5, 123);
    const cases: Case[] = [
      { region: 'us-east-1', method: 'GET', key: 'a/b c.txt', query: {}, headers: { range: 'bytes=0-99' }, payloadHash: EMPTY_BODY_SHA256, nowMs },
      {
        region: 'eu-west-3', method: 'PUT', key: 'dir/é+ü', query: {},
        headers: { 'content-type': 'text/plain', 'x-amz-meta-note': '  two   spaces\tand a tab ', 'cache-control': 'no-cache', 'user-agent': 'x' },
        payloadHash: UNSIGNED_PAYLOAD, nowMs,
      },
      { region: 'us-east-1', method: 'POST', key: 'big', query: { uploads: '' }, headers: {}, payloadHash: EMPTY_BODY_SHA256, nowMs },
      { region: 'us-east-1', method: 'PUT', key: 'big', query: { uploadId: 'a/b+c=', partNumber: '3' }, headers: { 'content-md5': 'abc==' }, payloadHash: UNSIGNED_PAYLOAD, nowMs },
    ];
    for (const c of cases) {
      const { ours, sdk } = await both(c);
      expect(ours).toEqual(sdk);
      expect(ours.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDBACKEND0001\/20261202\/[a-z0-9-]+\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    }
  });

  it('signs whatever request the SDK signs, identically, also across a change of day', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({
        region: fc.constantFrom('us-east-1', 'eu-central-1', 'garage'),
        method: fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST'),
        key: keyPath,
        query: queryRecord.map((q) => Object.fromEntries(Object.entries(q).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : v]))),
        headers: fc.dictionary(headerName, headerText, { maxKeys: 5 }),
        payloadHash: fc.constantFrom(EMPTY_BODY_SHA256, UNSIGNED_PAYLOAD),
        nowMs: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
      }),
      async (c) => {
        const { ours, sdk } = await both(c);
        expect(ours).toEqual(sdk);
      },
    ), { numRuns: 300 });
  });

  it('re-derives its signing key when the day changes', () => {
    const signer = new RequestSigner('us-east-1', CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey);
    const req = { method: 'GET', path: '/bucket/k', query: {}, headers: { host: 'h' } };
    const before = signer.sign(req, EMPTY_BODY_SHA256, Date.UTC(2026, 11, 2, 23, 59, 59));
    const after = signer.sign(req, EMPTY_BODY_SHA256, Date.UTC(2026, 11, 3, 0, 0, 1));
    expect(before.authorization).toContain('/20261202/');
    expect(after.authorization).toContain('/20261203/');
    expect(new RequestSigner('us-east-1', CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey).sign(req, EMPTY_BODY_SHA256, Date.UTC(2026, 11, 3, 0, 0, 1))).toEqual(after);
  });

  it('keeps the secret out of inspection and JSON', () => {
    const signer = new RequestSigner('us-east-1', CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey);
    expect(JSON.stringify(signer)).not.toContain(CREDENTIALS.secretAccessKey);
    expect(inspect(signer, { showHidden: true, depth: 5 })).not.toContain(CREDENTIALS.secretAccessKey);
  });

});
