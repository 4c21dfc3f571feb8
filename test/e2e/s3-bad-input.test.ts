import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, DeleteObjectsCommand, ListObjectsCommand,
  ListObjectsV2Command, ListPartsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackend } from '../support/backend-objects.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, parseErrorXml, signedRequest } from '../support/s3-e2e.js';

const adminToken = 'bad-input-admin-token';

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
});
