import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { expectConsistent, failure, md5Hex, objectEventTypes, parseErrorXml, patternBytes, signedRequest } from '../support/s3-e2e.js';

const MiB = 1024 * 1024;
const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

/** CopyObject within a bucket: a new version of the destination with the source's bytes. */
describeOnEachBackend('S3 CopyObject', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  const data = patternBytes(200_000, 5);

  beforeAll(async () => {
    // A small buffer limit so the large-copy case streams.
    stack = await startStack({ backends: [{ quota: 0 }], serverYaml: '  small_body_buffer: 1MiB', on });
    s3 = stack.client('alpha');
    await s3.send(new PutObjectCommand({
      Bucket: 'alpha', Key: 'src/original.bin', Body: data, ContentType: 'image/png', CacheControl: 'max-age=5',
      ContentDisposition: 'inline', Metadata: { author: 'ada', version: '1' },
    }));
  });
  afterAll(async () => stack?.stop());

  it('default directive COPY: bytes, ETag, content type and metadata come from the source', async () => {
    const res = await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/copy.bin', CopySource: 'alpha/src/original.bin' }));
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(data)}"`);
    expect(res.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/copy.bin' }));
    expect(got.ContentType).toBe('image/png');
    expect(got.CacheControl).toBe('max-age=5');
    expect(got.ContentDisposition).toBe('inline');
    expect(got.Metadata).toEqual({ author: 'ada', version: '1' });
    expect((await bytesOf(Promise.resolve(got))).equals(data)).toBe(true);
    expect(await objectEventTypes(stack, 'alpha', 'dst/copy.bin')).toEqual(['ObjectWritten']);
    // The copy is its own object: overwriting the source leaves it alone.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src/temp', Body: 'temp' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/temp', CopySource: 'alpha/src/temp' }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src/temp', Body: 'changed' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/temp' }))).Body?.transformToString()).toBe('temp');
  });

  it('directive REPLACE: metadata and headers come from the request', async () => {
    await s3.send(new CopyObjectCommand({
      Bucket: 'alpha', Key: 'dst/replaced.bin', CopySource: 'alpha/src/original.bin', MetadataDirective: 'REPLACE',
      ContentType: 'text/plain', Metadata: { fresh: 'yes' },
    }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dst/replaced.bin' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ fresh: 'yes' });
    expect(head.CacheControl).toBeUndefined();
    expect(head.ETag).toBe(`"${md5Hex(data)}"`);
    // An unknown directive is 400.
    const alpha = stack.buckets[0] as TestBucket;
    const bad = await signedRequest(stack, alpha, {
      method: 'PUT', path: '/alpha/dst/bad', headers: { 'x-amz-copy-source': '/alpha/src/original.bin', 'x-amz-metadata-directive': 'MERGE' },
    });
    expect(bad.status).toBe(400);
    expect(parseErrorXml(bad.text).Code).toBe('InvalidArgument');
  });

  it('copying onto itself needs REPLACE (S3 InvalidRequest otherwise); with REPLACE it updates metadata in place', async () => {
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'src/original.bin', CopySource: 'alpha/src/original.bin' }))))
      .toMatchObject({ name: 'InvalidRequest', status: 400 });
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'self', Body: 'self', Metadata: { v: '1' } }));
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'self', CopySource: 'alpha/self', MetadataDirective: 'REPLACE', Metadata: { v: '2' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'self' }));
    expect(head.Metadata).toEqual({ v: '2' });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'self' }))).Body?.transformToString()).toBe('self');
  });

  it('a source in another bucket is 403 AccessDenied; a missing source 404 NoSuchKey; a malformed one 400', async () => {
    await stack.client('beta').send(new PutObjectCommand({ Bucket: 'beta', Key: 'theirs', Body: 'beta data' }));
    const cross = await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'stolen', CopySource: 'beta/theirs' })));
    expect(cross).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'stolen' })))).toMatchObject({ status: 404 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'x', CopySource: 'alpha/does/not/exist' }))))
      .toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'x', CopySource: 'no-slash' }))))
      .toMatchObject({ name: 'InvalidArgument', status: 400 });
  });

  it('keys that need URL-encoding in x-amz-copy-source', async () => {
    const key = 'src/with space+plus/ü.txt';
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'encoded' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/ü copy', CopySource: `alpha/${encodeURIComponent(key)}` }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/ü copy' }))).Body?.transformToString()).toBe('encoded');
  });

  it('x-amz-copy-source-if-* conditions: 412 when they fail', async () => {
    const etag = `"${md5Hex(data)}"`;
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/cond', CopySource: 'alpha/src/original.bin', CopySourceIfMatch: etag }));
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/cond2', CopySource: 'alpha/src/original.bin', CopySourceIfMatch: '"x"' }))))
      .toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/cond2', CopySource: 'alpha/src/original.bin', CopySourceIfNoneMatch: etag }))))
      .toMatchObject({ status: 412 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dst/cond2' })))).toMatchObject({ status: 404 });
  });

  it('conditions on the destination: If-None-Match: * copies only where nothing exists', async () => {
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/once', CopySource: 'alpha/src/original.bin', IfNoneMatch: '*' }));
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/once', CopySource: 'alpha/src/temp', IfNoneMatch: '*' }))))
      .toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/once' })))).equals(data)).toBe(true);
  });

  it('0-byte and large (streamed, above small_body_buffer) sources copy exactly', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src/empty', Body: new Uint8Array(0) }));
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/empty', CopySource: 'alpha/src/empty' }));
    const empty = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dst/empty' }));
    expect(empty.ContentLength).toBe(0);
    expect(empty.ETag).toBe(`"${md5Hex('')}"`);

    const big = patternBytes(3 * MiB + 3, 9);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'src/big', Body: big }));
    const res = await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/big', CopySource: 'alpha/src/big' }));
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(big)}"`);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/big' })))).equals(big)).toBe(true);
  });

  it('copy over an existing destination replaces it and reclaims the old bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'dst/overwritten', Body: 'old' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'dst/overwritten', CopySource: 'alpha/src/original.bin' }));
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dst/overwritten' })))).equals(data)).toBe(true);
    await expectConsistent(stack);
  });
});
