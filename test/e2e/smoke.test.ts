import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../support/orchestrator.js';

describe('smoke', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }] });
  });
  afterAll(async () => stack?.stop());

  it('put, get, head, list, delete', async () => {
    const s3 = stack.client();
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'hello.txt', Body: 'hello world', ContentType: 'text/plain', Metadata: { a: 'b' } }));
    expect(put.ETag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello world');
    expect(got.ContentType).toBe('text/plain');
    expect(got.Metadata).toEqual({ a: 'b' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }));
    expect(head.ContentLength).toBe(11);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['hello.txt']);
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});
