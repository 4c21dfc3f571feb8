import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storeClient, type BackendStore } from '../support/backend-stores.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { backendObjects, patternBytes, settleCleanup } from '../support/s3-e2e.js';

/**
 * The parts of an aborted multipart upload leave the backend, also one without
 * AbortMultipartUpload (s3rver answers 405: the gateway assembles and deletes them there); parts
 * that cannot be removed count against the backend's quota, as an orphan, until they are gone.
 */

const MiB = 1024 * 1024;

/** Bytes of multipart parts the backend still holds: s3rver's upload directory, or RGW's open uploads. */
async function partBytesOnBackend(stack: TestStack, i: number): Promise<number> {
  const s3rver = stack.s3rvers[i];
  if (s3rver) return directoryBytes(join(s3rver.directory, s3rver.bucket, '._S3rver_uploads'));
  const store = stack.stores[i] as BackendStore;
  const client = storeClient(store);
  try {
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    return (listed.Uploads ?? []).length;
  } finally {
    client.destroy();
  }
}

async function directoryBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const e of entries) total += e.isDirectory() ? await directoryBytes(join(dir, e.name)) : (await stat(join(dir, e.name))).size;
  return total;
}

async function usage(stack: TestStack): Promise<{ used: number; pending: number; orphan: number }> {
  const r = (await stack.db.pool.query<{ bytes_used: string; pending_bytes: string; orphan_bytes: string }>("SELECT * FROM backend_usage WHERE backend = 'b1'")).rows[0];
  return { used: Number(r?.bytes_used), pending: Number(r?.pending_bytes), orphan: Number(r?.orphan_bytes) };
}

async function uploadTwoParts(s3: S3Client, key: string): Promise<string> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }));
  await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId, PartNumber: 1, Body: patternBytes(5 * MiB, 1) }));
  await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId, PartNumber: 2, Body: patternBytes(MiB, 2) }));
  return UploadId as string;
}

describeOnEachBackend('aborted multipart parts leave the backend or count against its quota', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 64 * MiB }], on });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  it('an aborted upload leaves no part and no object behind, and no bytes counted', async () => {
    const uploadId = await uploadTwoParts(s3, 'abort/me');
    expect(await usage(stack)).toEqual({ used: 0, pending: 6 * MiB, orphan: 0 });
    expect(await partBytesOnBackend(stack, 0)).toBeGreaterThan(0);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'abort/me', UploadId: uploadId }));
    await settleCleanup(stack);
    expect(await usage(stack)).toEqual({ used: 0, pending: 0, orphan: 0 });
    expect(await partBytesOnBackend(stack, 0)).toBe(0);
    expect([...(await backendObjects(stack.stores[0] as BackendStore)).keys()]).toEqual([]);
  });

  it.runIf(on.name === 's3rver')('parts a backend can neither abort nor assemble count as an orphan until they are gone', async () => {
    const uploadId = await uploadTwoParts(s3, 'abort/stuck');
    const client = stack.orchestrator.services.backends.require('b1').client;
    const complete = client.completeMultipartUpload.bind(client);
    client.completeMultipartUpload = () => Promise.reject(new Error('refused by the test'));
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'abort/stuck', UploadId: uploadId }));
    } finally {
      client.completeMultipartUpload = complete;
    }
    expect(await usage(stack)).toEqual({ used: 0, pending: 0, orphan: 6 * MiB });
    expect(await partBytesOnBackend(stack, 0)).toBeGreaterThanOrEqual(6 * MiB);
    const items = (await stack.db.pool.query<{ kind: string; size: string }>("SELECT kind, size FROM cleanup_queue WHERE backend = 'b1'")).rows;
    expect(items.map((i) => [i.kind, Number(i.size)])).toEqual([['multipart', 6 * MiB]]);
  });
});
