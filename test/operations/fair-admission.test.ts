import http from 'node:http';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { failure } from '../support/s3-e2e.js';

const MiB = 1024 * 1024;

interface SlowUpload {
  /** True when the server sent 100 Continue (admitted), false when it answered at once. */
  continued: boolean;
  status?: number;
  req: http.ClientRequest;
  /** Settles when the connection is gone (dropped by the server or destroyed by the test). */
  closed: Promise<void>;
}

/**
 * A presigned PUT declaring 1 MiB that sends one byte and then nothing, as the hostile
 * tenant did. `Expect: 100-continue` tells when it was admitted: the gateway answers 100 Continue
 * only after admission and authentication, a refusal at once.
 */
function slowUpload(url: string): Promise<SlowUpload> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-length': String(MiB), expect: '100-continue' } });
    const closed = new Promise<void>((done) => req.once('close', () => done()));
    req.on('continue', () => {
      req.write(Buffer.from('x'));
      resolve({ continued: true, req, closed });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ continued: false, status: res.statusCode, req, closed });
    });
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    req.flushHeaders();
  });
}

/** Issue 8: one tenant holding slow uploads must not lock the other tenants out. */
describe('fair admission between buckets', () => {
  let stack: TestStack;
  let alpha: S3Client;
  let beta: S3Client;
  const uploads: SlowUpload[] = [];

  beforeAll(async () => {
    stack = await startStack();
    alpha = stack.client('alpha');
    beta = stack.client('beta');
    await beta.send(new PutObjectCommand({ Bucket: 'beta', Key: 'readme', Body: 'beta data' }));
  });
  afterAll(async () => {
    for (const u of uploads) u.req.destroy();
    await stack?.stop();
  });

  it('one tenant opens 1,000 slow uploads; the other tenant\'s GETs all succeed', async () => {
    expect(stack.config.server.max_concurrent_requests).toBe(1000);
    const urls = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      getSignedUrl(alpha, new PutObjectCommand({ Bucket: 'alpha', Key: `slow-${i}` }), { expiresIn: 600 })));
    uploads.push(...await Promise.all(urls.map(slowUpload)));
    const admitted = uploads.filter((u) => u.continued).length;
    // Of 1,000 slots, half of beta's equal share (250) stays free for beta: alpha holds the other 750.
    expect(admitted).toBe(750);
    expect(uploads.filter((u) => !u.continued).map((u) => u.status)).toEqual(Array(250).fill(503));

    const gets = await Promise.all(Array.from({ length: 100 }, () => beta.send(new GetObjectCommand({ Bucket: 'beta', Key: 'readme' }))
      .then(async (r) => r.Body?.transformToString())));
    expect(gets).toEqual(Array(100).fill('beta data'));
    // Alpha, past its share, is the one refused.
    expect(await failure(alpha.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'anything' })))).toMatchObject({ name: 'SlowDown', status: 503 });
  });
});

describe('a body that makes no progress', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ serverYaml: ['  max_concurrent_requests: 1', '  write_timeout: 2s', '  backend_timeout: 1s'].join('\n') });
  });
  afterAll(async () => stack?.stop());

  it('is dropped after server.write_timeout, and its admission slot comes back', async () => {
    const alpha = stack.client('alpha');
    const url = await getSignedUrl(alpha, new PutObjectCommand({ Bucket: 'alpha', Key: 'stalled' }), { expiresIn: 600 });
    const upload = await slowUpload(url);
    expect(upload.continued).toBe(true);
    // It holds the only slot…
    expect(await failure(alpha.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'stalled' })))).toMatchObject({ name: 'SlowDown', status: 503 });
    // …until the server drops the connection that stopped sending.
    await upload.closed;
    expect(upload.req.destroyed).toBe(true);
    await expect.poll(async () => (await failure(alpha.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'stalled' })))).name, { timeout: 10_000 })
      .toBe('NoSuchKey');
  });
});
