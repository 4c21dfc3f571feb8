import { createHash } from 'node:crypto';
import { readdir, readlink, stat } from 'node:fs/promises';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { errorCode, expectConsistent, md5Hex, openSignedUpload, parseErrorXml, patternBytes, type OpenUpload } from '../support/s3-e2e.js';

const MiB = 1024 * 1024;
const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Sizes of the gateway's spool files open in this process (the stack runs in-process): unlinked temp files. */
async function spoolFileSizes(): Promise<number[]> {
  const sizes = new Map<number, number>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (!/\/s3o-spool-[0-9a-f]+ \(deleted\)$/.test(target)) continue;
    const file = await stat(`/proc/self/fd/${fd}`).catch(() => undefined);
    if (file) sizes.set(file.ino, file.size);
  }
  return [...sizes.values()];
}

async function sendInPieces(upload: OpenUpload, body: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < body.length; at += piece) await upload.write(body.subarray(at, at + piece));
}

/**
 * PUT with plain HTTP chunking (`Transfer-Encoding: chunked`, no Content-Length, not aws-chunked),
 * as curl -T - or a streaming HTTP client sends it: accepted with a signed payload hash and with
 * UNSIGNED-PAYLOAD, spooled to disk (memory stays bounded), verified before anything is stored.
 */
describeOnEachBackend('PUT with Transfer-Encoding: chunked and no Content-Length', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on, serverYaml: '  max_object_size: 8MiB' });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
  });
  afterAll(async () => stack?.stop());

  it('with a signed payload hash: 200, the ETag is the MD5 of the bytes, GET returns them; the bytes go to a spool file as they arrive', async () => {
    const body = patternBytes(6 * MiB, 3);
    const upload = await openSignedUpload(stack, alpha, { method: 'PUT', path: '/alpha/chunked/signed.bin', payloadHash: sha256Hex(body), headers: { 'content-type': 'application/x-test' } });
    await sendInPieces(upload, body.subarray(0, 2 * MiB), 256 * 1024);
    // The first 2 MiB sit in a temp file on disk, not in memory, while the client still sends.
    await expect.poll(spoolFileSizes, { timeout: 20_000 }).toEqual([2 * MiB]);
    await sendInPieces(upload, body.subarray(2 * MiB), 256 * 1024);
    const res = await upload.end();
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe(`"${md5Hex(body)}"`);
    expect(await spoolFileSizes()).toEqual([]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'chunked/signed.bin' }));
    expect(got.ContentLength).toBe(body.length);
    expect(got.ContentType).toBe('application/x-test');
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('with UNSIGNED-PAYLOAD: 200, the bytes stored as sent; an empty chunked body is an empty object', async () => {
    const body = patternBytes(3 * MiB + 17, 4);
    const upload = await openSignedUpload(stack, alpha, { method: 'PUT', path: '/alpha/chunked/unsigned.bin' });
    await sendInPieces(upload, body, 100_000);
    const res = await upload.end();
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe(`"${md5Hex(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'chunked/unsigned.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);

    const empty = await (await openSignedUpload(stack, alpha, { method: 'PUT', path: '/alpha/chunked/empty' })).end();
    expect(empty.status, empty.text).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'chunked/empty' }))).ContentLength).toBe(0);
  });

  it('a body that does not match its signed hash: 400 XAmzContentSHA256Mismatch, nothing stored', async () => {
    const body = patternBytes(MiB, 5);
    const upload = await openSignedUpload(stack, alpha, { method: 'PUT', path: '/alpha/chunked/tampered', payloadHash: sha256Hex(patternBytes(MiB, 6)) });
    await sendInPieces(upload, body, 128 * 1024);
    const res = await upload.end();
    expect(res.status).toBe(400);
    expect(parseErrorXml(res.text).Code).toBe('XAmzContentSHA256Mismatch');
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'chunked/tampered' })))).toBe('NotFound');
    expect(await spoolFileSizes()).toEqual([]);
  });

  it('a body growing past max_object_size: 400 EntityTooLarge while the client still sends, nothing stored', async () => {
    const upload = await openSignedUpload(stack, alpha, { method: 'PUT', path: '/alpha/chunked/too-large' });
    // 9 MiB against 8 MiB allowed; the answer comes before the body ends (it is never ended here).
    await sendInPieces(upload, patternBytes(9 * MiB, 7), 256 * 1024).catch(() => undefined);
    const res = await upload.response;
    expect(res.status).toBe(400);
    expect(parseErrorXml(res.text).Code).toBe('EntityTooLarge');
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'chunked/too-large' })))).toBe('NotFound');
    await expect.poll(spoolFileSizes, { timeout: 20_000 }).toEqual([]);
  });

  it('UploadPart with plain chunking: the part counts like any other in CompleteMultipartUpload', async () => {
    const key = 'chunked/multipart.bin';
    const { UploadId: uploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }));
    const part = patternBytes(5 * MiB, 8);
    const upload = await openSignedUpload(stack, alpha, { method: 'PUT', path: `/alpha/${key}`, query: { partNumber: '1', uploadId: uploadId! }, payloadHash: sha256Hex(part) });
    await sendInPieces(upload, part, 512 * 1024);
    const res = await upload.end();
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe(`"${md5Hex(part)}"`);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: res.headers.etag as string }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(part)).toBe(true);
  });

  it('leaves no untracked bytes and usage equal to the live copies', async () => {
    await expectConsistent(stack);
  });
});
