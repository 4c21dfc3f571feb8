import {
  CopyObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuckets, startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { errorCode, failure, md5Hex, parseErrorXml, rawRequest, signedRequest } from '../support/s3-e2e.js';

const TOKEN = 'legacy-token-0123456789abcdef';

/** S3 error documents, request ids, unimplemented sub-resources, and every way of authenticating. */
describe('S3 errors and authentication', () => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], buckets: [{ ...(defaultBuckets[0] as TestBucket), token: TOKEN }, defaultBuckets[1] as TestBucket] });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'hello.txt', Body: 'hello' }));
  });
  afterAll(async () => stack?.stop());

  const sdk = (overrides: Record<string, unknown>): S3Client => stack.client('alpha', overrides);

  it('errors are S3 XML with Code, Message, Resource and RequestId, and the right status', async () => {
    const res = await signedRequest(stack, alpha, { method: 'GET', path: '/alpha/missing/key.txt' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/xml');
    const e = parseErrorXml(res.text);
    expect(e.Code).toBe('NoSuchKey');
    expect(e.Message).toBeTruthy();
    expect(e.Resource).toBe('/alpha/missing/key.txt');
    expect(e.RequestId).toBe(res.headers['x-amz-request-id']);
    expect(e.Key).toBe('missing/key.txt');
    // The SDK maps them to typed errors carrying the request id.
    const f = await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'missing' })));
    expect(f).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(f.requestId).toBeTruthy();
  });

  it('unimplemented sub-resources answer 501 NotImplemented, never a wrong success', async () => {
    const cases: [string, string, Record<string, string>][] = [
      ['GET', '/alpha', { acl: '' }], ['GET', '/alpha', { cors: '' }], ['GET', '/alpha', { policy: '' }], ['GET', '/alpha', { tagging: '' }],
      ['GET', '/alpha', { lifecycle: '' }], ['GET', '/alpha', { website: '' }], ['PUT', '/alpha', { acl: '' }], ['GET', '/alpha/hello.txt', { acl: '' }],
      ['PUT', '/alpha/hello.txt', { tagging: '' }], ['DELETE', '/alpha/hello.txt', { tagging: '' }], ['GET', '/alpha', { versions: '' }],
      ['DELETE', '/alpha', { cors: '' }], ['PUT', '/alpha', { versioning: '' }],
    ];
    for (const [method, path, query] of cases) {
      const res = await signedRequest(stack, alpha, { method, path, query });
      const label = `${method} ${path}?${Object.keys(query)[0]}`;
      expect(res.status, label).toBe(501);
      expect(parseErrorXml(res.text).Code, label).toBe('NotImplemented');
      expect(res.headers['x-amz-request-id'], label).toBeTruthy();
    }
    // (GET ?tagging on an object answers an empty tag set: tags are never stored — see operations.ts.)
    // The object is untouched by the refused tagging PUT and DELETE.
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }))).Body?.transformToString()).toBe('hello');
  });

  it('bucket-level methods S3 allows but we do not: CreateBucket of your own is 409, DeleteBucket 405', async () => {
    expect((await signedRequest(stack, alpha, { method: 'PUT', path: '/alpha' })).status).toBe(409);
    const del = await signedRequest(stack, alpha, { method: 'DELETE', path: '/alpha' });
    expect(del.status).toBe(405);
    expect(parseErrorXml(del.text).Code).toBe('MethodNotAllowed');
  });

  it('methods S3 has no operation for answer 405 MethodNotAllowed as S3 XML, with a request id', async () => {
    for (const method of ['PATCH']) {
      const res = await rawRequest(`${stack.url}/alpha/hello.txt`, { method });
      expect(res.status, method).toBe(405);
      expect(parseErrorXml(res.text), method).toMatchObject({ Code: 'MethodNotAllowed', Resource: '/alpha/hello.txt' });
      expect(res.headers['x-amz-request-id'], method).toBeTruthy();
    }
  });

  it('no credentials: 403 AccessDenied; unknown key: InvalidAccessKeyId; wrong secret: SignatureDoesNotMatch', async () => {
    const anon = await rawRequest(`${stack.url}/alpha/hello.txt`);
    expect(anon.status).toBe(403);
    expect(parseErrorXml(anon.text).Code).toBe('AccessDenied');
    expect(await failure(sdk({ credentials: { accessKeyId: 'NOPE', secretAccessKey: 'x' } }).send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }))))
      .toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await failure(sdk({ credentials: { accessKeyId: 'ALPHAKEY', secretAccessKey: 'wrong' } }).send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }))))
      .toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    // A rejected PUT writes nothing.
    expect(await errorCode(sdk({ credentials: { accessKeyId: 'ALPHAKEY', secretAccessKey: 'wrong' } }).send(new PutObjectCommand({ Bucket: 'alpha', Key: 'forged', Body: 'x' }))))
      .toBe('SignatureDoesNotMatch');
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'forged' })))).toBe('NotFound');
  });

  it('a credential works only for its own bucket', async () => {
    expect(await failure(stack.client('beta').send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'beta', Key: 'x', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  it('a bucket that is not configured at all is 404 NoSuchBucket (GET, PUT, HEAD bucket, list, copy source); a configured one not ours stays 403', async () => {
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'nosuchbucket', Key: 'hello.txt' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'nosuchbucket', Key: 'x', Body: 'x' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'nosuchbucket' })))).toMatchObject({ status: 404 });
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'nosuchbucket' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copied', CopySource: 'nosuchbucket/hello.txt' }))))
      .toMatchObject({ name: 'NoSuchBucket', status: 404 });
    const raw = await signedRequest(stack, alpha, { method: 'GET', path: '/nosuchbucket/hello.txt' });
    expect(parseErrorXml(raw.text)).toMatchObject({ Code: 'NoSuchBucket', BucketName: 'nosuchbucket', Resource: '/nosuchbucket/hello.txt' });
    // Also answered before the body of an upload that waits for 100 Continue.
    const early = await signedRequest(stack, alpha, { method: 'PUT', path: '/nosuchbucket/big', headers: { expect: '100-continue' }, body: Buffer.alloc(1024) });
    expect(parseErrorXml(early.text).Code).toBe('NoSuchBucket');
    // A configured bucket the credential is not for.
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'beta' })))).toMatchObject({ status: 403 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'beta', Key: 'hello.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copied', CopySource: 'beta/hello.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    // Without valid credentials a missing bucket is not revealed: authentication comes first.
    expect((await rawRequest(`${stack.url}/nosuchbucket/hello.txt`)).status).toBe(403);
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'copied' })))).toBe('NotFound');
  });

  it('SigV4 clock skew: within 15 minutes accepted, beyond refused with RequestTimeTooSkewed', async () => {
    const ok = await sdk({ systemClockOffset: -14 * 60_000 }).send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }));
    expect(ok.$metadata.httpStatusCode).toBe(200);
    // The SDK would correct its clock from the error and retry: one attempt shows the refusal.
    for (const offset of [-16 * 60_000, 16 * 60_000]) {
      const f = await failure(sdk({ systemClockOffset: offset }).send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' })));
      expect(f, String(offset)).toMatchObject({ name: 'RequestTimeTooSkewed', status: 403 });
    }
  });

  it('presigned URLs (@aws-sdk/s3-request-presigner): GET and PUT work; expired, tampered, or over 7 days are refused', async () => {
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }), { expiresIn: 600 });
    const got = await rawRequest(getUrl);
    expect(got.status).toBe(200);
    expect(got.text).toBe('hello');

    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: 'presigned-put.txt' }), { expiresIn: 600 });
    const put = await rawRequest(putUrl, { method: 'PUT', body: 'uploaded via presigned URL' });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(`"${md5Hex('uploaded via presigned URL')}"`);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned-put.txt' }))).Body?.transformToString()).toBe('uploaded via presigned URL');

    const tampered = await rawRequest(getUrl.replace('hello.txt', 'presigned-put.txt'));
    expect(tampered.status).toBe(403);
    expect(parseErrorXml(tampered.text).Code).toBe('SignatureDoesNotMatch');

    const old = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }), { expiresIn: 60, signingDate: new Date(Date.now() - 10 * 60_000) });
    const expired = await rawRequest(old);
    expect(expired.status).toBe(403);
    expect(parseErrorXml(expired.text).Code).toBe('AccessDenied');

    const week = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }), { expiresIn: 604_800 });
    expect((await rawRequest(week)).status).toBe(200);
    const tooLong = await rawRequest(week.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801'));
    expect(tooLong.status).toBe(403);
    expect(parseErrorXml(tooLong.text)).toMatchObject({ Code: 'AccessDenied', Message: expect.stringMatching(/at most a week \(604800 seconds\)/) });
    const never = await rawRequest(week.replace('X-Amz-Expires=604800', 'X-Amz-Expires=0'));
    expect(never.status).toBe(403);
    expect(parseErrorXml(never.text)).toMatchObject({ Code: 'AccessDenied', Message: expect.stringMatching(/X-Amz-Expires is 0/) });
    // Not a number of seconds at all: the query is malformed.
    expect((await rawRequest(week.replace('X-Amz-Expires=604800', 'X-Amz-Expires=-1'))).status).toBe(400);

    // Another bucket's presigned URL for our bucket is still refused.
    const beta = await getSignedUrl(stack.client('beta'), new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }), { expiresIn: 60 });
    expect((await rawRequest(beta)).status).toBe(403);
  });

  it('OPTIONS (a CORS preflight), also on a presigned URL: 400 without an Origin, 403 with one (no bucket has CORS)', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'hello.txt' }), { expiresIn: 600 });
    for (const target of [url, `${stack.url}/alpha/hello.txt`, `${stack.url}/alpha`]) {
      const plain = await rawRequest(target, { method: 'OPTIONS' });
      expect(plain.status, target).toBe(400);
      expect(parseErrorXml(plain.text), target).toMatchObject({ Code: 'BadRequest', Message: 'Insufficient information. Origin request header needed.' });
      expect(plain.headers['x-amz-request-id'], target).toBeTruthy();
      const preflight = await rawRequest(target, { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' } });
      expect(preflight.status, target).toBe(403);
      expect(preflight.headers['access-control-allow-origin'], target).toBeUndefined();
    }
    // The URL itself still works.
    expect((await rawRequest(url)).text).toBe('hello');
  });

  it('legacy X-Proxy-Token: reads and writes its bucket; a wrong token or another bucket is 403', async () => {
    const got = await rawRequest(`${stack.url}/alpha/hello.txt`, { headers: { 'x-proxy-token': TOKEN } });
    expect(got.status).toBe(200);
    expect(got.text).toBe('hello');
    const put = await rawRequest(`${stack.url}/alpha/by-token.txt`, { method: 'PUT', headers: { 'x-proxy-token': TOKEN, 'content-type': 'text/plain' }, body: 'token body' });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(`"${md5Hex('token body')}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'by-token.txt' }));
    expect(head.ContentType).toBe('text/plain');
    const list = await rawRequest(`${stack.url}/alpha?list-type=2&prefix=by-`, { headers: { 'x-proxy-token': TOKEN } });
    expect(list.text).toContain('<Key>by-token.txt</Key>');
    expect((await rawRequest(`${stack.url}/alpha/hello.txt`, { headers: { 'x-proxy-token': 'wrong' } })).status).toBe(403);
    expect((await rawRequest(`${stack.url}/beta/hello.txt`, { headers: { 'x-proxy-token': TOKEN } })).status).toBe(403);
    // A Content-MD5 sent with a token-authenticated PUT is still verified.
    const bad = await rawRequest(`${stack.url}/alpha/by-token-bad.txt`, {
      method: 'PUT', headers: { 'x-proxy-token': TOKEN, 'content-md5': Buffer.from(md5Hex('other'), 'hex').toString('base64') }, body: 'token body',
    });
    expect(bad.status).toBe(400);
    expect(parseErrorXml(bad.text).Code).toBe('BadDigest');
  });

  it('unsigned x-amz-* headers are refused (a presigned URL cannot be widened)', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: 'widened' }), { expiresIn: 60 });
    const res = await rawRequest(url, { method: 'PUT', headers: { 'x-amz-copy-source': '/alpha/hello.txt' } });
    expect(res.status).toBe(403);
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'widened' })))).toBe('NotFound');
  });

  it('HEAD errors carry the status and request id but no body', async () => {
    const res = await signedRequest(stack, alpha, { method: 'HEAD', path: '/alpha/nothing-here' });
    expect(res.status).toBe(404);
    expect(res.body.length).toBe(0);
    expect(res.headers['x-amz-request-id']).toBeTruthy();
  });

  it('a list call with the SDK still works after all of the above', async () => {
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['by-token.txt', 'hello.txt', 'presigned-put.txt']);
  });
});
