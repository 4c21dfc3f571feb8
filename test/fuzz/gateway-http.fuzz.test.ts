import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { expectConsistent, parseErrorXml, rawRequest, signedRequest, type RawResponse } from '../support/s3-e2e.js';
import { anyChar } from './arbitraries.js';
import { fuzzRuns, fuzzTimeout } from './fuzz-runs.js';

/**
 * The running gateway over HTTP, driven with sequences of authenticated requests as tenant
 * alpha: real S3 operations (PUT, GET, copy, listings, the multipart family, DeleteObjects) on
 * hostile keys, each perhaps disturbed by a stray sub-resource, header or wrong body, mixed
 * with wholly random requests. For every request: no 500 (no 5xx but 501 and 507) and an S3
 * error document for every error; a rejected request changes nothing — no object, no upload,
 * and no backend write unless the rejection came from checking a body already streamed. After
 * every sequence: beta (whose credentials are never used) owns nothing, every backend holds
 * exactly the live copies (plus bytes queued for cleanup), and the gateway still answers.
 */

/** Rejections that can only be decided once the body went to a backend (its bytes are then reclaimed). */
const decidedAfterUpload = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'InvalidChecksum', 'IncompleteBody', 'SignatureDoesNotMatch',
  'InvalidRequest', 'PreconditionFailed', 'EntityTooLarge', 'InsufficientStorage']);

/** Key pieces as sent in the path: percent-encoded, or deliberately not. */
const keyPiece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('k1', 'k2', 'dir/k3', 'a', 'dir/') },
  { weight: 3, arbitrary: fc.constantFrom('..', '.', '../beta/planted', 'a/../b', '%2e%2e', '..%2f..%2fraw', 'a//b', '/lead', '%00', 'nul%00byte',
    'x'.repeat(300), encodeURIComponent('é'.repeat(120)), '%zz', '%', 'a%2Fb', '~01J9Z7Q5W3X4Y5Z6A7B8C9D0EF', '%E2%82', '%20sp%20', '+plus', '%7F%0A') },
  { weight: 2, arbitrary: fc.string({ unit: anyChar, minLength: 1, maxLength: 8 }).map(encodeURIComponent) },
);
const key = fc.array(keyPiece, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const bucket = fc.oneof({ weight: 12, arbitrary: fc.constant('alpha') }, { weight: 1, arbitrary: fc.constantFrom('beta', 'nosuchbucket', 'ALPHA', 'alpha.', '%61lpha') });

const smallNumber = fc.oneof(fc.integer({ min: -2, max: 12 }).map(String), fc.constantFrom('', 'x', '1e3', '10000', '10001', '99999999999999999999'));
const queryValue = fc.oneof(fc.constant(''), fc.string({ unit: anyChar, maxLength: 8 }), smallNumber);
/** Header values Node's HTTP client can send (printable latin-1). */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 30 });

const strayQuery = fc.oneof(
  fc.dictionary(
    fc.constantFrom('uploads', 'uploadId', 'partNumber', 'list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after',
      'encoding-type', 'marker', 'versionId', 'delete', 'acl', 'tagging', 'location', 'versioning', 'x-id', 'fetch-owner',
      'part-number-marker', 'max-parts', 'max-uploads', 'key-marker', 'upload-id-marker', 'versions', 'attributes'),
    queryValue,
    { maxKeys: 2 },
  ),
  // GetObject's response-* overrides become response headers: values a header can carry.
  fc.dictionary(fc.constantFrom('response-content-type', 'response-cache-control', 'response-content-disposition', 'response-expires'), headerValue, { maxKeys: 2 }),
);
const strayHeaders = fc.dictionary(
  fc.constantFrom('content-type', 'content-md5', 'range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since',
    'x-amz-copy-source', 'x-amz-copy-source-range', 'x-amz-metadata-directive', 'x-amz-checksum-crc32', 'x-amz-checksum-sha256',
    'x-amz-sdk-checksum-algorithm', 'cache-control', 'content-encoding', 'x-amz-meta-a', 'x-amz-decoded-content-length',
    'x-amz-copy-source-if-match', 'x-amz-storage-class', 'x-amz-tagging', 'x-amz-acl', 'expires', 'content-disposition', 'x-amz-trailer'),
  fc.oneof(headerValue, fc.constantFrom('*', '"abc"', 'bytes=0-3', 'bytes=-1', 'bytes=5-2', 'alpha/k1', '/alpha/k1', 'beta/k1', 'alpha/%00',
    'nosuchbucket/k', 'alpha%2Fk1', 'bytes=0-0', 'COPY', 'REPLACE', 'AAAAAA==', 'CRC32', 'gzip', 'aws-chunked', 'Wed, 21 Oct 2015 07:28:00 GMT',
    '1B2M2Y8AsgTpgAmY7PhCfg==', 'text/plain', 'x-amz-checksum-crc32')),
  { maxKeys: 3 },
);

const content = fc.oneof(fc.constant(''), fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a).toString('latin1')));
const xmlBody = fc.constantFrom(
  '<Delete><Object><Key>k1</Key></Object><Object><Key>../beta/x</Key></Object></Delete>', '<Delete><Quiet>true</Quiet><Object><Key>k2</Key></Object></Delete>',
  '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>', '<CompleteMultipartUpload></CompleteMultipartUpload>',
  '<!DOCTYPE x [<!ENTITY e "e">]><Delete>&e;</Delete>', '<Delete>', 'not xml',
);

/** An S3 operation, its targets named symbolically (the n-th key written, the latest upload) and resolved when sent. */
type Operation =
  | { op: 'put' | 'get' | 'head' | 'delete' | 'create-upload'; bucket: string; key: string; body: string }
  | { op: 'list'; prefix: string; delimiter: string; maxKeys: string }
  | { op: 'copy'; key: string; source: number }
  | { op: 'upload-part' | 'complete' | 'abort'; upload: number; partNumber: number; body: string }
  | { op: 'delete-objects'; keys: string[] }
  | { op: 'random'; method: string; path: string; body: string };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), bucket, key, body: content }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'head' as const, 'delete' as const, 'create-upload' as const), bucket, key, body: fc.constant('') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('list' as const), prefix: fc.constantFrom('', 'dir/', 'a', '%00'), delimiter: fc.constantFrom('', '/', 'a'), maxKeys: smallNumber }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), key, source: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('upload-part' as const, 'upload-part' as const, 'complete' as const, 'abort' as const), upload: fc.nat(), partNumber: fc.integer({ min: 1, max: 3 }), body: content }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete-objects' as const), keys: fc.array(fc.constantFrom('k1', 'k2', 'dir/k3', '../beta/x', 'a//b', '\u0001'), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('random' as const), method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE'), path: fc.tuple(bucket, fc.option(key, { nil: undefined })).map(([b, k]) => (k === undefined ? `/${b}` : `/${b}/${k}`)), body: fc.oneof(content, xmlBody) }) },
);

const step = fc.record({
  operation,
  query: fc.option(strayQuery, { nil: {}, freq: 3 }),
  headers: fc.option(strayHeaders, { nil: {}, freq: 2 }),
  payload: fc.constantFrom('signed', 'signed', 'signed', 'unsigned', 'wrong'),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

interface Sent { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: Buffer }

describe('fuzz: the gateway over HTTP', () => {
  let stack: TestStack;
  let alpha: TestBucket;
  let backendWrites = 0;
  /** What earlier requests created, for later ones to refer to. */
  const written: string[] = [];
  const uploads: { path: string; uploadId: string; parts: Map<number, string> }[] = [];

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10 * 1024 * 1024 }, { quota: 50_000 }], serverYaml: '  small_body_buffer: 1KiB' });
    alpha = stack.buckets[0] as TestBucket;
    // Every write a backend is asked for, whoever asks.
    for (const b of stack.config.backends) {
      const client = stack.orchestrator.services.backends.require(b.name).client as unknown as Record<string, (...args: unknown[]) => unknown>;
      for (const op of ['putObject', 'uploadPart', 'createMultipartUpload', 'completeMultipartUpload', 'copyObject']) {
        const original = (client[op] as (...args: unknown[]) => unknown).bind(client);
        client[op] = (...args: unknown[]) => {
          backendWrites++;
          return original(...args);
        };
      }
    }
  });
  afterAll(async () => stack?.stop());

  const state = async (): Promise<string> => {
    const objects = await stack.db.pool.query('SELECT bucket, key, write_id FROM objects ORDER BY bucket, key');
    const open = await stack.db.pool.query('SELECT upload_id FROM multipart_uploads ORDER BY upload_id');
    return JSON.stringify([objects.rows, open.rows]);
  };

  /** The request a step stands for, its symbolic targets resolved against what exists now. */
  function resolve(s: Step): Sent {
    const o = s.operation;
    const base = { query: { ...s.query } as Record<string, string>, headers: { ...s.headers } as Record<string, string> };
    const upload = 'upload' in o && uploads.length > 0 ? uploads[o.upload % uploads.length] : undefined;
    switch (o.op) {
      case 'put': return { ...base, method: 'PUT', path: `/${o.bucket}/${o.key}`, body: Buffer.from(o.body, 'latin1') };
      case 'get': return { ...base, method: 'GET', path: `/${o.bucket}/${o.key}`, body: Buffer.alloc(0) };
      case 'head': return { ...base, method: 'HEAD', path: `/${o.bucket}/${o.key}`, body: Buffer.alloc(0) };
      case 'delete': return { ...base, method: 'DELETE', path: `/${o.bucket}/${o.key}`, body: Buffer.alloc(0) };
      case 'create-upload': return { ...base, method: 'POST', path: `/${o.bucket}/${o.key}`, query: { ...base.query, uploads: '' }, body: Buffer.alloc(0) };
      case 'list': return { ...base, method: 'GET', path: '/alpha', query: { 'list-type': '2', prefix: o.prefix, delimiter: o.delimiter, 'max-keys': o.maxKeys, ...base.query }, body: Buffer.alloc(0) };
      case 'copy': {
        const source = written.length > 0 ? written[o.source % written.length] as string : 'k1';
        return { ...base, method: 'PUT', path: `/alpha/${o.key}`, headers: { 'x-amz-copy-source': source, ...base.headers }, body: Buffer.alloc(0) };
      }
      case 'upload-part':
        return { ...base, method: 'PUT', path: upload?.path ?? '/alpha/k1', query: { partNumber: String(o.partNumber), uploadId: upload?.uploadId ?? 'none', ...base.query }, body: Buffer.from(o.body, 'latin1') };
      case 'abort':
        return { ...base, method: 'DELETE', path: upload?.path ?? '/alpha/k1', query: { uploadId: upload?.uploadId ?? 'none', ...base.query }, body: Buffer.alloc(0) };
      case 'complete': {
        const parts = [...(upload?.parts ?? new Map<number, string>())].sort(([a], [b]) => a - b);
        const xml = `<CompleteMultipartUpload>${parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
        return { ...base, method: 'POST', path: upload?.path ?? '/alpha/k1', query: { uploadId: upload?.uploadId ?? 'none', ...base.query }, body: Buffer.from(xml) };
      }
      case 'delete-objects': {
        const xml = `<Delete>${o.keys.map((k) => `<Object><Key>${k.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Key></Object>`).join('')}</Delete>`;
        return { ...base, method: 'POST', path: '/alpha', query: { delete: '', ...base.query }, headers: { 'content-md5': createHash('md5').update(xml).digest('base64'), ...base.headers }, body: Buffer.from(xml) };
      }
      case 'random': return { ...base, method: o.method, path: o.path, body: Buffer.from(o.body, 'latin1') };
    }
  }

  async function send(sent: Sent, payload: string): Promise<RawResponse | undefined> {
    const headers = { ...sent.headers };
    // Node sends a GET/HEAD/DELETE body without framing unless told its length.
    if (sent.body.length > 0) headers['content-length'] = String(sent.body.length);
    if (payload === 'unsigned') headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    if (payload === 'wrong') headers['x-amz-content-sha256'] = createHash('sha256').update('other').digest('hex');
    try {
      return await signedRequest(stack, alpha, { method: sent.method, path: sent.path, query: sent.query, headers, body: sent.body });
    } catch (e) {
      // Node's client refuses some targets and header values before sending: nothing reached the gateway.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_UNESCAPED_CHARACTERS' || code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN') return undefined;
      throw e;
    }
  }

  /** Remembers what a successful request created, for later steps to refer to. */
  function remember(sent: Sent, res: RawResponse): void {
    if (res.status !== 200) return;
    const target = sent.path.startsWith('/alpha/') ? decodeURIComponentOrUndefined(sent.path.slice('/alpha/'.length)) : undefined;
    if (sent.method === 'PUT' && target !== undefined && !('partNumber' in sent.query)) written.push(`alpha/${encodeURIComponent(target)}`);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(res.text)?.[1];
    if (sent.method === 'POST' && 'uploads' in sent.query && uploadId) uploads.push({ path: sent.path, uploadId, parts: new Map() });
    const etag = res.headers.etag;
    const upload = uploads.find((u) => u.uploadId === sent.query.uploadId);
    if (sent.method === 'PUT' && upload && typeof etag === 'string') upload.parts.set(Number(sent.query.partNumber), etag);
  }

  it('answers random authenticated requests without a 500, storing nothing for rejected ones', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
      for (const s of steps) {
        const sent = resolve(s);
        const before = await state();
        const writesBefore = backendWrites;
        const res = await send(sent, s.payload);
        if (res === undefined) continue;
        const label = `${sent.method} ${sent.path}?${new URLSearchParams(sent.query).toString()} ${JSON.stringify(sent.headers)} → ${res.status} ${res.text.slice(0, 300)}`;
        expect(res.status < 500 || res.status === 501 || res.status === 507, label).toBe(true);
        if (res.status >= 300 && res.status !== 304 && sent.method !== 'HEAD') {
          expect(res.headers['content-type'], label).toBe('application/xml');
          expect(parseErrorXml(res.text).Code, label).toBeTruthy();
        }
        remember(sent, res);
        if (res.status >= 400) {
          await stack.orchestrator.services.reclaimer.drain();
          expect(await state(), `${label}: a rejected request changed what is stored`).toBe(before);
          const code = parseErrorXml(res.text).Code ?? '';
          if (!decidedAfterUpload.has(code)) expect(backendWrites - writesBefore, `${label}: a rejected request wrote to a backend`).toBe(0);
        }
      }
      // Tenant beta's credentials were never used: nothing may be beta's.
      expect((await stack.db.pool.query(`SELECT key FROM objects WHERE bucket = 'beta'`)).rows).toEqual([]);
      expect((await stack.db.pool.query(`SELECT storage_key FROM object_copies WHERE bucket = 'beta' OR storage_key LIKE 'beta/%'`)).rows).toEqual([]);
      await expectConsistent(stack, { allowPendingCleanup: true });
      expect((await rawRequest(`${stack.url}/health`)).status).toBe(200);
    }), fuzzRuns(3));
  }, fuzzTimeout(120_000));

  it('leaves, once cleanup ran, exactly the live copies on the backends', async () => {
    await expectConsistent(stack);
  });
});

function decodeURIComponentOrUndefined(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
