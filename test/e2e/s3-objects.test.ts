import {
  CopyObjectCommand, DeleteObjectCommand, GetBucketLocationCommand, GetBucketVersioningCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import {
  errorCode, expectConsistent, failure, md5Hex, objectEventTypes, parseErrorXml, patternBytes, rawRequest, signedRequest,
} from '../support/s3-e2e.js';

/** Single-object operations and bucket-level calls through @aws-sdk/client-s3 with default settings. */
describeOnEachBackend('S3 objects and buckets', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
  });
  afterAll(async () => stack?.stop());

  it('ListBuckets shows only the credential\'s own bucket', async () => {
    const a = await s3.send(new ListBucketsCommand({}));
    expect(a.Buckets?.map((b) => b.Name)).toEqual(['alpha']);
    expect(a.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
    expect(a.Owner?.ID).toBeTruthy();
    const b = await stack.client('beta').send(new ListBucketsCommand({}));
    expect(b.Buckets?.map((x) => x.Name)).toEqual(['beta']);
  });

  it('HeadBucket: own bucket 200, another bucket 403, a bucket not configured 404', async () => {
    const own = await s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
    expect(own.$metadata.httpStatusCode).toBe(200);
    expect(own.BucketRegion).toBe('us-east-1');
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'beta' })))).toMatchObject({ status: 403 });
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'nosuchbucket' })))).toMatchObject({ status: 404 });
  });

  it('GetBucketLocation and GetBucketVersioning', async () => {
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'alpha' }));
    expect(loc.$metadata.httpStatusCode).toBe(200);
    expect(loc.LocationConstraint ?? 'us-east-1').toBe('us-east-1');
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: 'alpha' }));
    expect(ver.$metadata.httpStatusCode).toBe(200);
    expect(ver.Status).toBeUndefined();
  });

  it('PUT then GET/HEAD/LIST: bytes, ETag = MD5 of the bytes, stored headers and metadata', async () => {
    const body = patternBytes(300_000, 7);
    const expires = new Date('2031-02-03T04:05:06Z');
    const put = await s3.send(new PutObjectCommand({
      Bucket: 'alpha', Key: 'docs/report.bin', Body: body, ContentType: 'application/x-report',
      CacheControl: 'max-age=60', ContentDisposition: 'attachment; filename="r.bin"', ContentEncoding: 'identity',
      ContentLanguage: 'de-CH', Expires: expires, Metadata: { owner: 'team-a', 'Mixed-Case': 'Value With Spaces' },
    }));
    expect(put.ETag).toBe(`"${md5Hex(body)}"`);

    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'docs/report.bin' }));
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(body)).toBe(true);
    expect(got.ETag).toBe(put.ETag);
    expect(got.ContentLength).toBe(body.length);
    expect(got.ContentType).toBe('application/x-report');
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ContentDisposition).toBe('attachment; filename="r.bin"');
    expect(got.ContentEncoding).toBe('identity');
    expect(got.ContentLanguage).toBe('de-CH');
    expect(got.Expires?.getTime()).toBe(expires.getTime());
    expect(got.Metadata).toEqual({ owner: 'team-a', 'mixed-case': 'Value With Spaces' });
    expect(got.AcceptRanges).toBe('bytes');
    expect(got.LastModified).toBeInstanceOf(Date);

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'docs/report.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(put.ETag);
    expect(head.ContentType).toBe('application/x-report');
    expect(head.CacheControl).toBe('max-age=60');
    expect(head.Metadata).toEqual({ owner: 'team-a', 'mixed-case': 'Value With Spaces' });

    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'docs/' }));
    expect(list.Contents).toEqual([expect.objectContaining({ Key: 'docs/report.bin', Size: body.length, ETag: put.ETag, StorageClass: 'STANDARD' })]);
  });

  it('a PUT without Content-Type stores the S3 default; a 0-byte object round-trips', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'empty', Body: new Uint8Array(0) }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'empty' }));
    expect(got.ContentLength).toBe(0);
    expect(await got.Body?.transformToString()).toBe('');
    expect(got.ETag).toBe(`"${md5Hex('')}"`);
    expect(got.ContentType).toMatch(/octet-stream/);
  });

  it('overwrite and delete are events on the object stream; GET sees each committed change at once', async () => {
    const key = 'lifecycle/one.txt';
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'version one' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()).toBe('version one');
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'version two!' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key }));
    expect(head.ETag).toBe(`"${md5Hex('version two!')}"`);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()).toBe('version two!');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: key }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })))).toBe('NoSuchKey');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key })))).toMatchObject({ status: 404, name: 'NotFound' });
    expect(await objectEventTypes(stack, 'alpha', key)).toEqual(['ObjectWritten', 'ObjectWritten', 'ObjectDeleted']);
    const rows = await stack.db.pool.query('SELECT 1 FROM objects WHERE bucket = $1 AND key = $2', ['alpha', key]);
    expect(rows.rowCount).toBe(0);
  });

  it('DeleteObject answers 204 for a key that does not exist, twice, and records nothing', async () => {
    for (let i = 0; i < 2; i++) {
      const del = await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'never-existed' }));
      expect(del.$metadata.httpStatusCode).toBe(204);
    }
    expect(await objectEventTypes(stack, 'alpha', 'never-existed')).toEqual([]);
  });

  it('conditional writes: If-None-Match: * creates only, If-Match replaces or deletes only that version', async () => {
    const key = 'cond/write';
    const first = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'first', IfNoneMatch: '*' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'second', IfNoneMatch: '*' }))))
      .toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'second', IfMatch: `"${md5Hex('other')}"` }))))
      .toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond/none', Body: 'x', IfMatch: first.ETag }))))
      .toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'x', IfNoneMatch: first.ETag }))))
      .toMatchObject({ name: 'NotImplemented', status: 501 });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()).toBe('first');
    const second = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'second', IfMatch: first.ETag }));
    expect(second.ETag).toBe(`"${md5Hex('second')}"`);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: key, IfMatch: first.ETag })))).toMatchObject({ status: 412 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: key, IfMatch: second.ETag }));
    expect(await objectEventTypes(stack, 'alpha', key)).toEqual(['ObjectWritten', 'ObjectWritten', 'ObjectDeleted']);
  });

  it('the same key in two buckets is two objects', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'shared-name', Body: 'from alpha' }));
    const beta = stack.client('beta');
    await beta.send(new PutObjectCommand({ Bucket: 'beta', Key: 'shared-name', Body: 'from beta' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'shared-name' }))).Body?.transformToString()).toBe('from alpha');
    expect(await (await beta.send(new GetObjectCommand({ Bucket: 'beta', Key: 'shared-name' }))).Body?.transformToString()).toBe('from beta');
    expect(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'beta', Key: 'shared-name' })))).toBe('AccessDenied');
  });

  it('keys with spaces, plus signs, percent signs, unicode and many slashes round-trip', async () => {
    // No key with `//` here: s3rver itself cannot store one (404 on PUT straight to it); real S3 backends can.
    const keys = ['a b/c+d%20e.txt', 'ünïcødé/日本語/ファイル', 'dir/trailing/', 'x?y=z&w#frag', "quote'and\"double", 'tilde~in~key'];
    for (const key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: `body of ${key}` }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(await got.Body?.transformToString(), key).toBe(`body of ${key}`);
    }
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    for (const key of keys) expect(list.Contents?.map((c) => c.Key)).toContain(key);
  });

  it('user metadata up to 2 KiB is stored; over it is 400 MetadataTooLarge and nothing is written', async () => {
    // Names (without x-amz-meta-) plus values count: 1 + 2047 = 2048 bytes is the limit.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'meta-ok', Body: 'x', Metadata: { a: 'v'.repeat(2047) } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'meta-ok' }));
    expect(head.Metadata?.a).toBe('v'.repeat(2047));
    const tooLarge = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'meta-big', Body: 'x', Metadata: { a: 'v'.repeat(2048) } })));
    expect(tooLarge).toMatchObject({ name: 'MetadataTooLarge', status: 400 });
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'meta-big' })))).toBe('NotFound');
  });

  it('non-ASCII metadata values round-trip byte for byte', async () => {
    // The SDK signs a value as text and sends its UTF-8 bytes (Node's HTTP client takes only
    // characters up to U+00FF); the gateway keeps those bytes and sends them back unchanged.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'meta-latin', Body: 'x', Metadata: { city: 'Zürich', sign: '±§' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'meta-latin' }));
    // Node's HTTP client hands response header bytes over as latin-1: decode them to compare bytes.
    const utf8 = (v: string | undefined) => Buffer.from(v ?? '', 'latin1').toString('utf8');
    expect(utf8(head.Metadata?.city)).toBe('Zürich');
    expect(utf8(head.Metadata?.sign)).toBe('±§');

    const text = 'Grüße, 東京 — ☃ 🎉';
    const put = await signedRequest(stack, alpha, { method: 'PUT', path: '/alpha/meta-utf8', body: 'x', headers: { 'x-amz-meta-greeting': text } });
    expect(put.status).toBe(200);
    const res = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha/meta-utf8' });
    expect(res.status).toBe(200);
    const at = res.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-amz-meta-greeting');
    expect(Buffer.from(res.rawHeaders[at + 1] as string, 'latin1').equals(Buffer.from(text, 'utf8'))).toBe(true);
    // The limit counts bytes: 1 + 1024 two-byte characters is over 2 KiB.
    const big = await signedRequest(stack, alpha, { method: 'PUT', path: '/alpha/meta-utf8-big', body: 'x', headers: { 'x-amz-meta-a': 'é'.repeat(1024) } });
    expect(big.status).toBe(400);
    expect(parseErrorXml(big.text).Code).toBe('MetadataTooLarge');
  });

  it('response-* query parameters override the stored headers on GET', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'override', Body: 'x', ContentType: 'text/plain' }));
    const got = await s3.send(new GetObjectCommand({
      Bucket: 'alpha', Key: 'override', ResponseContentType: 'application/json', ResponseContentDisposition: 'inline', ResponseCacheControl: 'no-store',
    }));
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentDisposition).toBe('inline');
    expect(got.CacheControl).toBe('no-store');
    expect(await got.Body?.transformToString()).toBe('x');
  });

  it('a header sent on several lines (Content-Encoding: deflate + gzip) is stored and returned as one list, "deflate, gzip"', async () => {
    const put = await signedRequest(stack, alpha, {
      method: 'PUT', path: '/alpha/two-codings', body: 'x',
      headers: { 'content-encoding': ['deflate', 'gzip'], 'cache-control': ['no-cache', 'max-age=0'], 'content-language': ['de', 'en'] },
    });
    expect(put.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'two-codings' }));
    expect(got.ContentEncoding).toBe('deflate, gzip');
    expect(got.CacheControl).toBe('no-cache, max-age=0');
    expect(got.ContentLanguage).toBe('de, en');
    const head = await signedRequest(stack, alpha, { method: 'HEAD', path: '/alpha/two-codings' });
    expect(head.rawHeaders.filter((_, i) => i % 2 === 0 && head.rawHeaders[i]?.toLowerCase() === 'content-encoding')).toHaveLength(1);
    expect(head.headers['content-encoding']).toBe('deflate, gzip');
    // Kept by a copy, as any stored header.
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'two-codings-copy', CopySource: 'alpha/two-codings' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'two-codings-copy' }))).ContentEncoding).toBe('deflate, gzip');
  });

  it('every response carries x-amz-request-id; an X-Request-Id of hex is adopted', async () => {
    const ok = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha/override', headers: { 'x-request-id': 'abc123' } });
    expect(ok.headers['x-amz-request-id']).toBe('abc123');
    const missing = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha/not-here' });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-amz-request-id']).toMatch(/^[0-9A-F]+$/);
    const anon = await rawRequest(`${stack.url}/alpha/x`);
    expect(anon.status).toBe(403);
    expect(anon.headers['x-amz-request-id']).toBeTruthy();
  });

  it('leaves no untracked bytes and usage equal to the live copies', async () => {
    await expectConsistent(stack);
  });
});
