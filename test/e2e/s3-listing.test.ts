import {
  DeleteObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsV2CommandOutput, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, md5Hex, signedRequest } from '../support/s3-e2e.js';

const MANY = 2500;
const manyKey = (i: number): string => `many/k${String(i).padStart(4, '0')}`;
const tree = ['photos/2024/a.jpg', 'photos/2024/b.jpg', 'photos/2025/c.jpg', 'photos/readme', 'docs/x', 'top.txt', 'a b+c/ü.txt'];

/** ListObjects v1 and v2 from the objects projection: paging, prefixes, delimiters, markers, encoding. */
describeOnEachBackend('S3 listing', (on) => {
  let stack: TestStack;
  let s3: S3Client;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on });
    s3 = stack.client('alpha');
    const keys = [...Array.from({ length: MANY }, (_, i) => manyKey(i)), ...tree];
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (let i = next++; i < keys.length; i = next++) {
        const key = keys[i] as string;
        await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: key }));
      }
    }));
    await stack.client('beta').send(new PutObjectCommand({ Bucket: 'beta', Key: 'many/k0000-beta', Body: 'b' }));
  }, 120_000);
  afterAll(async () => stack?.stop());

  it('v2: 2500 keys in 3 pages of max 1000 with opaque continuation tokens, no duplicates or gaps', async () => {
    const pages: ListObjectsV2CommandOutput[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', ContinuationToken: token }));
      pages.push(page);
      token = page.NextContinuationToken;
      if (token) expect(token).not.toContain('many/');
    } while (token);
    expect(pages.map((p) => p.KeyCount)).toEqual([1000, 1000, 500]);
    expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false]);
    expect(pages.map((p) => p.MaxKeys)).toEqual([1000, 1000, 1000]);
    expect(pages[1]?.ContinuationToken).toBe(pages[0]?.NextContinuationToken);
    const keys = pages.flatMap((p) => (p.Contents ?? []).map((c) => c.Key));
    expect(keys).toEqual(Array.from({ length: MANY }, (_, i) => manyKey(i)));
  });

  it('v2 entries carry Key, Size, ETag, LastModified and StorageClass; Owner only with fetch-owner', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/k0007' }));
    expect(page.Contents).toEqual([{
      Key: 'many/k0007', Size: 'many/k0007'.length, ETag: `"${md5Hex('many/k0007')}"`, LastModified: expect.any(Date), StorageClass: 'STANDARD',
    }]);
    const withOwner = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/k0007', FetchOwner: true }));
    expect(withOwner.Contents?.[0]?.Owner?.ID).toBeTruthy();
  });

  it('v2: max-keys, start-after and a continuation token that resumes exactly', async () => {
    const small = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', MaxKeys: 7 }));
    expect(small.Contents?.map((c) => c.Key)).toEqual([0, 1, 2, 3, 4, 5, 6].map(manyKey));
    expect(small.IsTruncated).toBe(true);
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', MaxKeys: 3, ContinuationToken: small.NextContinuationToken }));
    expect(rest.Contents?.map((c) => c.Key)).toEqual([7, 8, 9].map(manyKey));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', StartAfter: manyKey(2497) }));
    expect(after.Contents?.map((c) => c.Key)).toEqual([manyKey(2498), manyKey(2499)]);
    expect(after.StartAfter).toBe(manyKey(2497));
    expect(after.IsTruncated).toBe(false);
    // More than 1000 asked: 1000 at most, the request echoed.
    const big = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', MaxKeys: 5000 }));
    expect(big.KeyCount).toBe(1000);
    expect(big.MaxKeys).toBe(5000);
  });

  it('v2: a token we did not issue is 400 InvalidArgument; a bad max-keys too', async () => {
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'alpha', ContinuationToken: 'not-a-token' })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    const raw = await signedRequest(stack, stack.buckets[0] as TestBucket, { method: 'GET', path: '/alpha', query: { 'list-type': '2', 'max-keys': 'abc' } });
    expect(raw.status).toBe(400);
  });

  it('prefix and delimiter roll keys up into CommonPrefixes; each counts toward max-keys', async () => {
    const root = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '/' }));
    expect(root.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a b+c/', 'docs/', 'many/', 'photos/']);
    expect(root.Contents?.map((c) => c.Key)).toEqual(['top.txt']);
    expect(root.KeyCount).toBe(5);
    const photos = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'photos/', Delimiter: '/' }));
    expect(photos.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['photos/2024/', 'photos/2025/']);
    expect(photos.Contents?.map((c) => c.Key)).toEqual(['photos/readme']);
    expect(photos.Delimiter).toBe('/');
    expect(photos.Prefix).toBe('photos/');

    // Page through the root one entry at a time: prefixes and keys interleave in key order.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }));
      expect((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0)).toBe(1);
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string), ...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(['a b+c/', 'docs/', 'many/', 'photos/', 'top.txt']);
  });

  it('v1: marker paging over 2500 keys; NextMarker is returned with a delimiter', async () => {
    const keys: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await s3.send(new ListObjectsCommand({ Bucket: 'alpha', Prefix: 'many/', Marker: marker }));
      pages++;
      const got = (page.Contents ?? []).map((c) => c.Key as string);
      keys.push(...got);
      expect(page.Contents?.[0]?.Owner?.ID).toBeTruthy();
      if (!page.IsTruncated) break;
      marker = page.NextMarker ?? got[got.length - 1];
    }
    expect(pages).toBe(3);
    expect(keys).toEqual(Array.from({ length: MANY }, (_, i) => manyKey(i)));

    const delimited = await s3.send(new ListObjectsCommand({ Bucket: 'alpha', Delimiter: '/', MaxKeys: 2 }));
    expect(delimited.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a b+c/', 'docs/']);
    expect(delimited.IsTruncated).toBe(true);
    expect(delimited.NextMarker).toBe('docs/');
    const next = await s3.send(new ListObjectsCommand({ Bucket: 'alpha', Delimiter: '/', MaxKeys: 2, Marker: delimited.NextMarker }));
    expect(next.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['many/', 'photos/']);
    const last = await s3.send(new ListObjectsCommand({ Bucket: 'alpha', Delimiter: '/', MaxKeys: 2, Marker: next.NextMarker }));
    expect(last.Contents?.map((c) => c.Key)).toEqual(['top.txt']);
    expect(last.IsTruncated).toBe(false);
  });

  it('encoding-type=url encodes keys, prefixes and the delimiter in the XML', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', prefix: 'a b+c/', 'encoding-type': 'url' } });
    expect(raw.status).toBe(200);
    expect(raw.text).toContain('<Key>a+b%2Bc/%C3%BC.txt</Key>');
    expect(raw.text).toContain('<Prefix>a+b%2Bc/</Prefix>');
    expect(raw.text).toContain('<EncodingType>url</EncodingType>');
    const v1 = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { delimiter: '/', 'encoding-type': 'url', 'max-keys': '1' } });
    expect(v1.text).toContain('<Prefix>a+b%2Bc/</Prefix>');
    // The SDK leaves decoding to the caller.
    const sdk = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'a b+c/', EncodingType: 'url' }));
    expect(sdk.Contents?.map((c) => decodeURIComponent((c.Key as string).replace(/\+/g, ' ')))).toEqual(['a b+c/ü.txt']);
  });

  it('a listing is per bucket and sees deletes at once', async () => {
    const beta = await stack.client('beta').send(new ListObjectsV2Command({ Bucket: 'beta' }));
    expect(beta.Contents?.map((c) => c.Key)).toEqual(['many/k0000-beta']);
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'docs/x' }));
    const root = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '/' }));
    expect(root.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a b+c/', 'many/', 'photos/']);
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'beta' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });
});
