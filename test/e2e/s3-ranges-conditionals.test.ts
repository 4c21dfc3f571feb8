import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, md5Hex, parseErrorXml, patternBytes, signedRequest } from '../support/s3-e2e.js';

/** Reads the body (an unread body would be reset when the stack stops) and returns the status. */
const statusOf = async (p: Promise<{ Body?: unknown; $metadata: { httpStatusCode?: number } }>): Promise<number | undefined> => {
  const r = await p;
  await (r.Body as { transformToByteArray(): Promise<Uint8Array> } | undefined)?.transformToByteArray();
  return r.$metadata.httpStatusCode;
};

const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

/** Ranged and conditional GET/HEAD, as S3 evaluates them (also together). */
describeOnEachBackend('S3 ranges and conditional requests', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  const data = patternBytes(100_000, 3);
  const etag = `"${md5Hex(data)}"`;
  let lastModified: Date;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on });
    s3 = stack.client('alpha');
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'data.bin', Body: data }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'zero', Body: new Uint8Array(0) }));
    lastModified = (await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'data.bin' }))).LastModified as Date;
  });
  afterAll(async () => stack?.stop());

  const get = (extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}) =>
    s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'data.bin', ...extra }));

  it('single range: 206 with Content-Range and exactly those bytes', async () => {
    const r = await get({ Range: 'bytes=10-19' });
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes 10-19/${data.length}`);
    expect(r.ContentLength).toBe(10);
    expect(r.ETag).toBe(etag);
    expect(Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(data.subarray(10, 20))).toBe(true);
    // A range past the end is clamped to the object.
    const clamped = await get({ Range: `bytes=99990-200000` });
    expect(clamped.ContentRange).toBe(`bytes 99990-99999/${data.length}`);
    expect((await bytesOf(Promise.resolve(clamped))).equals(data.subarray(99990))).toBe(true);
  });

  it('suffix range: the last n bytes (the gateway asks s3rver for an absolute range, which it gets right)', async () => {
    const r = await get({ Range: 'bytes=-100' });
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes 99900-99999/${data.length}`);
    expect((await bytesOf(Promise.resolve(r))).equals(data.subarray(-100))).toBe(true);
    const whole = await get({ Range: 'bytes=-500000' });
    expect(whole.ContentRange).toBe(`bytes 0-99999/${data.length}`);
    expect((await bytesOf(Promise.resolve(whole))).equals(data)).toBe(true);
  });

  it('open-ended range: from an offset to the end', async () => {
    const r = await get({ Range: 'bytes=99000-' });
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes 99000-99999/${data.length}`);
    expect((await bytesOf(Promise.resolve(r))).equals(data.subarray(99000))).toBe(true);
  });

  it('unsatisfiable range: 416 InvalidRange with Content-Range bytes */size', async () => {
    const f = await failure(get({ Range: `bytes=${data.length}-` }));
    expect(f).toMatchObject({ name: 'InvalidRange', status: 416 });
    const alpha = stack.buckets[0] as TestBucket;
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha/data.bin', headers: { range: 'bytes=200000-300000' } });
    expect(raw.status).toBe(416);
    expect(raw.headers['content-range']).toBe(`bytes */${data.length}`);
    expect(parseErrorXml(raw.text)).toMatchObject({ Code: 'InvalidRange', Resource: '/alpha/data.bin' });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'zero', Range: 'bytes=0-0' })))).toMatchObject({ status: 416 });
  });

  it('a malformed or multi-range header is ignored: the whole object, 200', async () => {
    for (const range of ['bytes=5-2', 'bytes=0-1,5-6', 'items=0-5']) {
      const r = await get({ Range: range });
      expect(r.$metadata.httpStatusCode, range).toBe(200);
      expect((await bytesOf(Promise.resolve(r))).length, range).toBe(data.length);
    }
  });

  it('HEAD with a range answers 206 with the range length and no body', async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'data.bin', Range: 'bytes=0-99' }));
    expect(h.$metadata.httpStatusCode).toBe(206);
    expect(h.ContentLength).toBe(100);
    expect(h.ContentRange).toBe(`bytes 0-99/${data.length}`);
  });

  it('If-Match: 200 when it matches (quoted or not, or *), 412 PreconditionFailed otherwise', async () => {
    expect(await statusOf(get({ IfMatch: etag }))).toBe(200);
    expect(await statusOf(get({ IfMatch: md5Hex(data) }))).toBe(200);
    expect(await statusOf(get({ IfMatch: '*' }))).toBe(200);
    expect(await statusOf(get({ IfMatch: `"nope", ${etag}` }))).toBe(200);
    expect(await failure(get({ IfMatch: '"0000"' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'data.bin', IfMatch: '"0000"' })))).toMatchObject({ status: 412 });
  });

  it('If-None-Match: 304 when it matches, 200 otherwise', async () => {
    expect(await failure(get({ IfNoneMatch: etag }))).toMatchObject({ status: 304 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'data.bin', IfNoneMatch: etag })))).toMatchObject({ status: 304 });
    expect(await statusOf(get({ IfNoneMatch: '"other"' }))).toBe(200);
    // A 304 still names the validators.
    const raw = await signedRequest(stack, stack.buckets[0] as TestBucket, { method: 'GET', path: '/alpha/data.bin', headers: { 'if-none-match': etag } });
    expect(raw.status).toBe(304);
    expect(raw.headers.etag).toBe(etag);
    expect(raw.body.length).toBe(0);
  });

  it('If-Modified-Since / If-Unmodified-Since compare at one-second resolution', async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    const after = new Date(lastModified.getTime() + 60_000);
    expect(await failure(get({ IfModifiedSince: lastModified }))).toMatchObject({ status: 304 });
    expect(await failure(get({ IfModifiedSince: after }))).toMatchObject({ status: 304 });
    expect(await statusOf(get({ IfModifiedSince: before }))).toBe(200);
    expect(await statusOf(get({ IfUnmodifiedSince: lastModified }))).toBe(200);
    expect(await statusOf(get({ IfUnmodifiedSince: after }))).toBe(200);
    expect(await failure(get({ IfUnmodifiedSince: before }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
  });

  it('S3 precedence: If-Match true wins over If-Unmodified-Since false; If-None-Match false wins over If-Modified-Since true', async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    const after = new Date(lastModified.getTime() + 60_000);
    expect(await statusOf(get({ IfMatch: etag, IfUnmodifiedSince: before }))).toBe(200);
    expect(await failure(get({ IfNoneMatch: etag, IfModifiedSince: before }))).toMatchObject({ status: 304 });
    // With If-None-Match present, If-Modified-Since is not consulted.
    expect(await statusOf(get({ IfNoneMatch: '"other"', IfModifiedSince: after }))).toBe(200);
    // If-Match false + If-None-Match true: the 412 comes first.
    expect(await failure(get({ IfMatch: '"x"', IfNoneMatch: etag }))).toMatchObject({ status: 412 });
  });

  it('conditionals are evaluated with a Range too (the original skipped them)', async () => {
    const ranged = await get({ Range: 'bytes=0-9', IfMatch: etag });
    expect(ranged.$metadata.httpStatusCode).toBe(206);
    expect((await bytesOf(Promise.resolve(ranged))).equals(data.subarray(0, 10))).toBe(true);
    expect(await failure(get({ Range: 'bytes=0-9', IfMatch: '"other"' }))).toMatchObject({ status: 412 });
    expect(await failure(get({ Range: 'bytes=0-9', IfNoneMatch: etag }))).toMatchObject({ status: 304 });
    expect(await failure(get({ Range: 'bytes=0-9', IfUnmodifiedSince: new Date(lastModified.getTime() - 60_000) }))).toMatchObject({ status: 412 });
  });
});
