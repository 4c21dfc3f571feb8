import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStorageInvariants } from '../support/backend-objects.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const hour = 60 * 60 * 1000;

/** Uploads are opened now; the worker is asked what is stale at a later instant (its clock). */
describe('stale multipart uploads', () => {
  let stack: TestStack;
  let s3: S3Client;
  const part = Buffer.alloc(64 * 1024, 7);

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000_000 }], extraYaml: 'cleanup_queue:\n  multipart_stale_timeout: 2h' });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  async function open(key: string, parts: number): Promise<string> {
    const uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }))).UploadId as string;
    for (let n = 1; n <= parts; n++) await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: n, Body: part }));
    return uploadId;
  }
  const pending = async () => Number((await stack.db.pool.query("SELECT pending_bytes FROM backend_usage WHERE backend = 'b1'")).rows[0].pending_bytes);
  const openUploads = async () => (await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha' }))).Uploads?.map((u) => u.Key).sort() ?? [];

  it('aborts uploads older than multipart_stale_timeout, and only those', async () => {
    const ids = [await open('big/a', 2), await open('big/b', 1), await open('big/c', 0)];
    expect(await pending()).toBe(3 * part.length);
    const initiated = await stack.db.pool.query<{ oldest: Date; newest: Date }>(
      'SELECT min(initiated_at) AS oldest, max(initiated_at) AS newest FROM multipart_uploads',
    );
    const oldest = (initiated.rows[0]?.oldest as Date).getTime();
    const newest = (initiated.rows[0]?.newest as Date).getTime();

    expect(await stack.orchestrator.workers.staleUploads.runOnce(new Date(oldest + 2 * hour))).toEqual({ aborted: 0, failed: 0 });
    expect(await openUploads()).toEqual(['big/a', 'big/b', 'big/c']);

    expect(await stack.orchestrator.workers.staleUploads.runOnce(new Date(newest + 2 * hour + 1))).toEqual({ aborted: 3, failed: 0 });
    expect(await openUploads()).toEqual([]);
    expect(await pending()).toBe(0);
    const aborted = await stack.db.pool.query<{ reason: string; actor: string }>(
      `SELECT data->>'reason' AS reason, metadata->>'actor' AS actor FROM events WHERE type = 'MultipartUploadAborted'`,
    );
    expect(aborted.rows).toEqual(ids.map(() => ({ reason: 'stale', actor: 'system:multipart-expiry' })));
    await expect(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'big/a', UploadId: ids[0], PartNumber: 3, Body: part })))
      .rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('leaves a younger upload open', async () => {
    await open('young', 1);
    expect(await stack.orchestrator.workers.staleUploads.runOnce(new Date(Date.now() + hour))).toEqual({ aborted: 0, failed: 0 });
    expect(await openUploads()).toEqual(['young']);
    await expectStorageInvariants(stack);
  });
});
