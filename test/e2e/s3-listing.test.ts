import {
  DeleteObjectCommand, GetObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsV2CommandOutput, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, md5Hex, signedRequest } from '../support/s3-e2e.js';
import { seedListedKeys } from '../support/seed-listing.js';

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
    await seedListedKeys(stack.db.pool, Array.from({ length: MANY }, (_, i) => manyKey(i)));
    await Promise.all(tree.map((key) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: key }))));
    await stack.client('beta').send(new PutObjectCommand({ Bucket: 'beta', Key: 'many/k0000-beta', Body: 'b' }));
  });
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

  it('encoding-type=url encodes keys, prefixes and the delimiter in the XML, a space as %20 (never +)', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', prefix: 'a b+c/', 'encoding-type': 'url' } });
    expect(raw.status).toBe(200);
    expect(raw.text).toContain('<Key>a%20b%2Bc/%C3%BC.txt</Key>');
    expect(raw.text).toContain('<Prefix>a%20b%2Bc/</Prefix>');
    expect(raw.text).toContain('<EncodingType>url</EncodingType>');
    const v1 = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { delimiter: '/', 'encoding-type': 'url', 'max-keys': '1' } });
    expect(v1.text).toContain('<Prefix>a%20b%2Bc/</Prefix>');
    // A space as the delimiter, and common prefixes ending in it.
    const spaced = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', delimiter: ' ', prefix: 'a', 'encoding-type': 'url' } });
    expect(spaced.text).toContain('<Delimiter>%20</Delimiter>');
    expect(spaced.text).toContain('<CommonPrefixes><Prefix>a%20</Prefix></CommonPrefixes>');
    expect(spaced.text).not.toContain('+');
    // The SDK leaves decoding to the caller: plain percent-decoding gives the key back.
    const sdk = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'a b+c/', EncodingType: 'url' }));
    expect(sdk.Contents?.map((c) => decodeURIComponent(c.Key as string))).toEqual(['a b+c/ü.txt']);
  });

  it('v2: an empty continuation-token is no token: the first page', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', prefix: 'many/', 'max-keys': '2', 'continuation-token': '' } });
    expect(raw.status).toBe(200);
    expect(raw.text).toContain(`<Key>${manyKey(0)}</Key>`);
    expect(raw.text).not.toContain('<ContinuationToken>');
    const sdk = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'many/', MaxKeys: 2, ContinuationToken: '' }));
    expect(sdk.Contents?.map((c) => c.Key)).toEqual([manyKey(0), manyKey(1)]);
    // With start-after, the listing starts there.
    const after = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', 'max-keys': '1', 'continuation-token': '', 'start-after': manyKey(6) } });
    expect(after.text).toContain(`<Key>${manyKey(7)}</Key>`);
  });

  it('a listing is per bucket and sees deletes at once', async () => {
    const beta = await stack.client('beta').send(new ListObjectsV2Command({ Bucket: 'beta' }));
    expect(beta.Contents?.map((c) => c.Key)).toEqual(['many/k0000-beta']);
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'docs/x' }));
    const root = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Delimiter: '/' }));
    expect(root.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a b+c/', 'many/', 'photos/']);
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'beta' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  it('without encoding-type, keys and common prefixes with control characters are XML character references (not percent-encoded), and read back exactly', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const keys = ['ctl/bell\u0007x', 'ctl/cr\rx', 'ctl/dir\n/inner', 'ctl/line\nbreak', 'ctl/tab\there'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: key }));
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha', query: { 'list-type': '2', prefix: 'ctl/', delimiter: '/' } });
    for (const text of ['<Key>ctl/bell&#x7;x</Key>', '<Key>ctl/cr&#xD;x</Key>', '<Key>ctl/line&#xA;break</Key>', '<Key>ctl/tab&#x9;here</Key>', '<Prefix>ctl/dir&#xA;/</Prefix>']) {
      expect(raw.text).toContain(text);
    }
    expect(raw.text).not.toMatch(/%0[79AD]/);
    const flat = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'ctl/' }));
    expect(flat.Contents?.map((c) => c.Key)).toEqual(keys);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'alpha', Prefix: 'ctl/' }));
    expect(v1.Contents?.map((c) => c.Key)).toEqual(keys);
    const nested = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'ctl/', Delimiter: '/' }));
    expect(nested.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['ctl/dir\n/']);
    expect(nested.Contents?.map((c) => c.Key)).toEqual(keys.filter((k) => k !== 'ctl/dir\n/inner'));
    // Each listed name opens its object.
    for (const c of flat.Contents ?? []) {
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: c.Key }))).Body?.transformToString()).toBe(c.Key);
    }
  });
});
