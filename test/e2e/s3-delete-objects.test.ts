import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { storeClient, type BackendStore } from '../support/backend-stores.js';
import { expectConsistent, failure, md5Hex, objectEventTypes, parseErrorXml, signedRequest } from '../support/s3-e2e.js';
import { seedListedKeys } from '../support/seed-listing.js';

/** DeleteObjects: up to 1000 keys per request, per-key results, Quiet mode. */
describe('S3 DeleteObjects', () => {
  let stack: TestStack;
  let s3: S3Client;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }] });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  const putAll = async (keys: readonly string[]): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = next++; i < keys.length; i = next++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: keys[i], Body: keys[i] }));
    }));
  };
  const listAll = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: prefix, ContinuationToken: token }));
      out.push(...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };

  it('deletes the listed keys and reports each, missing keys included (as S3 does)', async () => {
    await putAll(['d/a', 'd/b', 'd/c', 'd/keep']);
    const res = await s3.send(new DeleteObjectsCommand({
      Bucket: 'alpha', Delete: { Objects: [{ Key: 'd/a' }, { Key: 'd/b' }, { Key: 'd/never-was' }, { Key: 'd/c' }] },
    }));
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['d/a', 'd/b', 'd/never-was', 'd/c']);
    expect(res.Errors ?? []).toEqual([]);
    expect(await listAll('d/')).toEqual(['d/keep']);
    expect(await objectEventTypes(stack, 'alpha', 'd/a')).toEqual(['ObjectWritten', 'ObjectDeleted']);
    expect(await objectEventTypes(stack, 'alpha', 'd/never-was')).toEqual([]);
  });

  it('Quiet mode lists only failures: an empty result when all went well', async () => {
    await putAll(['q/1', 'q/2', 'q/3']);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Quiet: true, Objects: [{ Key: 'q/1' }, { Key: 'q/2' }, { Key: 'q/3' }] } }));
    expect(res.Deleted ?? []).toEqual([]);
    expect(res.Errors ?? []).toEqual([]);
    expect(await listAll('q/')).toEqual([]);
  });

  it('1000 keys in one request (sibling keys: the gateway must not surface s3rver\'s concurrent-delete races)', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `bulk/dir/k${String(i).padStart(4, '0')}`);
    // Written as the gateway would (bodies on s3rver, then the writes appended in bulk): what is
    // tested is the delete; 1,000 PUTs through the gateway cost ~15 s of a busy machine.
    const store = stack.stores[0] as BackendStore;
    const backend = storeClient(store);
    await seedListedKeys(stack.db.pool, keys, {
      storeBytes: async (copies) => {
        let next = 0;
        await Promise.all(Array.from({ length: 16 }, async () => {
          for (let i = next++; i < copies.length; i = next++) {
            const c = copies[i] as { key: string; storageKey: string };
            await backend.send(new PutObjectCommand({ Bucket: store.bucket, Key: c.storageKey, Body: c.key }));
          }
        }));
      },
    });
    backend.destroy();
    expect(await listAll('bulk/')).toEqual(keys);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(res.Errors ?? []).toEqual([]);
    expect(res.Deleted?.length).toBe(1000);
    expect(await listAll('bulk/')).toEqual([]);
    await expectConsistent(stack);
    // 1,000 PUTs and deletes on s3rver's file system: over 60 s on a busy 2-core machine.
  }, 300_000);

  it('more than 1000 keys, or none, is 400 MalformedXML', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const xml = (n: number) => `<Delete>${Array.from({ length: n }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('')}</Delete>`;
    for (const n of [1001, 0]) {
      const body = xml(n);
      const res = await signedRequest(stack, alpha, {
        method: 'POST', path: '/alpha', query: { delete: '' }, body,
        headers: { 'content-md5': (await import('node:crypto')).createHash('md5').update(body).digest('base64') },
      });
      expect(res.status, String(n)).toBe(400);
      expect(parseErrorXml(res.text).Code, String(n)).toBe('MalformedXML');
    }
    const bad = await signedRequest(stack, alpha, { method: 'POST', path: '/alpha', query: { delete: '' }, body: '<Delete><Object>' });
    expect(parseErrorXml(bad.text).Code).toBe('MalformedXML');
  });

  it('an entry with an ETag is deleted only if it matches (PreconditionFailed per key otherwise)', async () => {
    await putAll(['e/1', 'e/2']);
    const res = await s3.send(new DeleteObjectsCommand({
      Bucket: 'alpha', Delete: { Objects: [{ Key: 'e/1', ETag: `"${md5Hex('e/1')}"` }, { Key: 'e/2', ETag: `"${md5Hex('not e/2')}"` }] },
    }));
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['e/1']);
    expect(res.Errors?.map((e) => [e.Key, e.Code])).toEqual([['e/2', 'PreconditionFailed']]);
    expect(await listAll('e/')).toEqual(['e/2']);
  });

  it('a version id other than null is reported per key; another bucket is 403', async () => {
    await putAll(['v/1']);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: 'alpha', Delete: { Objects: [{ Key: 'v/1', VersionId: 'abc' }, { Key: 'v/1' }] } }));
    expect(res.Errors?.map((e) => [e.Key, e.Code])).toEqual([['v/1', 'NoSuchVersion']]);
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['v/1']);
    expect(await failure(s3.send(new DeleteObjectsCommand({ Bucket: 'beta', Delete: { Objects: [{ Key: 'x' }] } })))).toMatchObject({ status: 403 });
  });
});
