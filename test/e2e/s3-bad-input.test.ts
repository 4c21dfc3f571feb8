import net from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, DeleteObjectsCommand, ListObjectsCommand,
  ListObjectsV2Command, ListPartsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackend } from '../support/backend-objects.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, parseErrorXml, signedRequest } from '../support/s3-e2e.js';
import { NodeSha256 } from '../unit/auth/signing-support.js';

const adminToken = 'bad-input-admin-token';

/** Writes `bytes` on a fresh connection (then half-closes it when `end`) and collects everything until the server closes it. */
function exchange(port: number, bytes: string, end = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
    socket.write(bytes);
    if (end) socket.end();
  });
}

/** The first response of a raw exchange: status, lower-case headers, body. */
function firstResponse(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? 0);
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n').slice(0, length) };
}

/** Issue 8: bad input gets a clear 400 with an S3 code (admin API: JSON), never a 500, and nothing stored. */
describe('bad input', () => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;

  /** Nothing on any backend but the copy source this file put there. */
  async function storedNothing(): Promise<void> {
    for (const s of stack.s3rvers) expect((await listBackend(s)).filter((k) => !k.startsWith('alpha/src~'))).toEqual([]);
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 10_000_000 }], extraYaml: `ui:\n  admin_token: ${adminToken}` });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src', Body: 'source' }));
  });
  afterAll(async () => stack?.stop());

  describe('a NUL (%00)', () => {
    it('in a key answers 400 InvalidArgument before any backend is touched (PUT, GET, HEAD, DELETE)', async () => {
      const put = await signedRequest(stack, alpha, { method: 'PUT', path: '/alpha/nul%00key', body: 'never stored' });
      expect(put.status).toBe(400);
      expect(parseErrorXml(put.text)).toMatchObject({ Code: 'InvalidArgument', ArgumentName: 'key' });
      for (const method of ['GET', 'DELETE']) {
        const r = await signedRequest(stack, alpha, { method, path: '/alpha/nul%00key' });
        expect(r.status, method).toBe(400);
        expect(parseErrorXml(r.text).Code).toBe('InvalidArgument');
      }
      expect((await signedRequest(stack, alpha, { method: 'HEAD', path: '/alpha/nul%00key' })).status).toBe(400);
      const events = await stack.db.pool.query(`SELECT type FROM events WHERE type IN ('ObjectWritten', 'OrphanRecorded') AND data->>'key' IS DISTINCT FROM 'src'`);
      expect(events.rows).toEqual([]);
      await storedNothing();
    });

    it('in a prefix, marker, start-after, continuation token or delimiter answers 400 InvalidArgument', async () => {
      const cases = [
        () => s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'a\0' })),
        () => s3.send(new ListObjectsV2Command({ Bucket: 'alpha', StartAfter: 'a\0' })),
        () => s3.send(new ListObjectsV2Command({ Bucket: 'alpha', ContinuationToken: '\0' })),
        () => s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '\0' })),
        () => s3.send(new ListObjectsCommand({ Bucket: 'alpha', Marker: 'm\0' })),
      ];
      for (const c of cases) expect(await failure(c())).toMatchObject({ name: 'InvalidArgument', status: 400 });
    });

    it('in an upload id answers 400 InvalidArgument (UploadPart, ListParts, Complete, Abort)', async () => {
      const uploadId = 'upload\0id';
      const cases = [
        () => s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId, PartNumber: 1, Body: 'part' })),
        () => s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId })),
        () => s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] } })),
        () => s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId })),
      ];
      for (const c of cases) expect(await failure(c())).toMatchObject({ name: 'InvalidArgument', status: 400 });
      await storedNothing();
    });

    it('in a copy source answers 400 InvalidArgument and copies nothing', async () => {
      expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copy', CopySource: 'alpha/src%00' }))))
        .toMatchObject({ name: 'InvalidArgument', status: 400 });
      await storedNothing();
    });

    it('in a DeleteObjects key is that key\'s error, not a 500', async () => {
      const res = await s3.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: [{ Key: 'a\0b' }, { Key: 'missing' }] } }))
        .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => ({ failed: e.name, status: e.$metadata?.httpStatusCode }));
      if ('failed' in res) expect(res).toMatchObject({ status: 400 });
      else {
        expect(res.Errors?.map((e) => e.Code)).toEqual(['InvalidArgument']);
        expect(res.Deleted?.map((d) => d.Key)).toEqual(['missing']);
      }
    });

    it('in an admin API path or query answers 400 JSON ValidationFailed', async () => {
      const paths = [
        '/admin/api/objects/history?bucket=alpha&key=a%00b',
        '/admin/api/objects/locations?bucket=alpha%00&key=src',
        '/admin/api/backends/b1%00/drain',
        '/admin/api/jobs/job%00id',
        '/admin/api/cleanup-queue/item%00/retry',
      ];
      for (const path of paths) {
        const method = path.endsWith('/retry') || path.endsWith('/drain') ? 'POST' : 'GET';
        const res = await fetch(`${stack.url}${path}`, { method, headers: { 'x-admin-token': adminToken } });
        expect(res.status, path).toBe(400);
        expect(await res.json(), path).toMatchObject({ code: 'ValidationFailed' });
      }
      const body = await fetch(`${stack.url}/admin/api/log-level`, {
        method: 'PUT', headers: { 'x-admin-token': adminToken, 'content-type': 'application/json' }, body: '{"level":"info\\u0000"}',
      });
      expect(body.status).toBe(400);
      expect(await body.json()).toMatchObject({ code: 'ValidationFailed', field: 'body' });
    });
  });
  describe('requests Node\'s HTTP parser refuses get S3 XML with the right code, not JSON', () => {
    let port: number;
    /** The head of a PUT signed for alpha (UNSIGNED-PAYLOAD), with these extra headers signed as well. */
    async function signedPutHead(key: string, extra: Record<string, string>): Promise<string> {
      const signer = new SignatureV4({
        credentials: { accessKeyId: alpha.accessKeyId, secretAccessKey: alpha.secretAccessKey }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false,
      });
      const signed = await signer.sign({
        method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', path: `/alpha/${key}`,
        headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra },
      });
      return `PUT /alpha/${key} HTTP/1.1\r\n${Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
    }
    const expectS3Error = (raw: string, status: number, code: string) => {
      const res = firstResponse(raw);
      expect(res.status, raw.slice(0, 300)).toBe(status);
      expect(res.headers['content-type']).toBe('application/xml');
      expect(parseErrorXml(res.body).Code).toBe(code);
      expect(parseErrorXml(res.body).RequestId).toBe(res.headers['x-amz-request-id']);
      expect(raw).not.toContain('application/json');
    };
    beforeAll(() => {
      port = Number(new URL(stack.url).port);
    });

    it('a negative Content-Length: 400 InvalidArgument', async () => {
      expectS3Error(await exchange(port, await signedPutHead('neg', { 'content-length': '-1' })), 400, 'InvalidArgument');
    });

    it('a body shorter than its Content-Length, then the end of the connection: 400 IncompleteBody', async () => {
      expectS3Error(await exchange(port, `${await signedPutHead('short', { 'content-length': '10' })}abc`, true), 400, 'IncompleteBody');
    });

    it('a body longer than its Content-Length: the rest is no request, 400 InvalidRequest', async () => {
      const raw = await exchange(port, `${await signedPutHead('long', { 'content-length': '2' })}abGARBAGE\r\n\r\n`);
      expect(raw).toContain('<Code>InvalidRequest</Code>');
      expect(raw).not.toContain('application/json');
    });

    it('Content-Length with Transfer-Encoding: 400 InvalidRequest', async () => {
      const head = await signedPutHead('both', { 'content-length': '3', 'transfer-encoding': 'chunked' });
      expectS3Error(await exchange(port, `${head}0\r\n\r\n`), 400, 'InvalidRequest');
    });

    it('100 KB of headers: 400 RequestHeaderSectionTooLarge', async () => {
      const raw = await exchange(port, `GET /alpha/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
      expectS3Error(raw, 400, 'RequestHeaderSectionTooLarge');
    });

    it('a PUT without Content-Length: 411 MissingContentLength', async () => {
      expectS3Error(await exchange(port, await signedPutHead('nolength', {})), 411, 'MissingContentLength');
      // Only the valid 2-byte PUT of the test before was stored.
      for (const s of stack.s3rvers) {
        expect((await listBackend(s)).filter((k) => /^alpha\/(neg|short|both|nolength)~/.test(k))).toEqual([]);
      }
    });
  });
});
