import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand,
  type ChecksumAlgorithm, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { expectConsistent, failure, md5Hex, objectEventTypes, parseErrorXml, patternBytes, rawRequest } from '../support/s3-e2e.js';
import { NodeSha256 } from '../unit/auth/signing-support.js';
import { encodeAwsChunked, referenceSigningKey } from '../unit/body/reference-chunked-encoder.js';
import { referenceChecksum } from '../unit/body/reference-checksums.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { flipBitAt } from '../support/flip-bit.js';

const MiB = 1024 * 1024;
const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'];

/** A Readable yielding `data` in 64 KiB pieces: the SDK sends it aws-chunked with a trailing checksum. */
const streamOf = (data: Buffer): Readable => Readable.from((function* () {
  for (let off = 0; off < data.length; off += 65536) yield data.subarray(off, off + 65536);
})());

/**
 * Makes the next request of `client` arrive with one byte of its (already signed, already
 * framed) body flipped: a man in the middle, or a bad cable.
 */
function tamperNextBody(client: S3Client, at: number): void {
  let armed = true;
  client.middlewareStack.add((next) => async (args) => {
    const request = args.request as { body?: unknown };
    if (armed && request.body !== undefined) {
      armed = false;
      const body = request.body;
      if (body instanceof Uint8Array) {
        const copy = Buffer.from(body);
        copy[at] = (copy[at] as number) ^ 0x01;
        request.body = copy;
      } else if (body instanceof Readable) {
        request.body = body.pipe(flipBitAt(at));
      } else if (typeof body === 'string') {
        const copy = Buffer.from(body);
        copy[at] = (copy[at] as number) ^ 0x01;
        request.body = copy;
      }
    }
    return next(args);
  }, { step: 'deserialize', name: `tamper-${Math.random()}` });
}

const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

/** aws-chunked bodies (unsigned with trailers from the SDK, signed chunk by chunk), every checksum, Content-MD5, tampering. */
describe('S3 streaming bodies and checksums', () => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], serverYaml: '  small_body_buffer: 1MiB' });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
  });
  afterAll(async () => stack?.stop());

  const readBack = (key: string) => bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })));

  it('stream bodies with default settings (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32 trailer), small and large, store exactly the bytes', async () => {
    for (const size of [100_000, 3 * MiB + 11]) {
      const data = patternBytes(size, size);
      const key = `stream/${size}`;
      let contentSha256: string | undefined;
      const client = stack.client('alpha');
      client.middlewareStack.add((next) => async (args) => {
        contentSha256 = (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'];
        return next(args);
      }, { step: 'deserialize' });
      const put = await client.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: streamOf(data), ContentLength: data.length }));
      expect(contentSha256).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
      expect(put.ETag).toBe(`"${md5Hex(data)}"`);
      expect(put.ChecksumCRC32).toBe(referenceChecksum('CRC32', data));
      expect((await readBack(key)).equals(data)).toBe(true);
      // The backend holds the plain bytes, not the aws-chunked framing.
      const copy = await stack.db.pool.query<{ size: string }>('SELECT size FROM object_copies WHERE bucket = $1 AND key = $2', ['alpha', key]);
      expect(Number(copy.rows[0]?.size)).toBe(size);
    }
  });

  it('every ChecksumAlgorithm, as a header (Buffer body) and as a trailer (stream body); GET returns it with ChecksumMode', async () => {
    const data = patternBytes(150_000, 77);
    for (const algorithm of ALGORITHMS) {
      for (const kind of ['buffer', 'stream'] as const) {
        const key = `sum/${algorithm}-${kind}`;
        const put = await s3.send(new PutObjectCommand({
          Bucket: 'alpha', Key: key, ChecksumAlgorithm: algorithm,
          ...(kind === 'buffer' ? { Body: data } : { Body: streamOf(data), ContentLength: data.length }),
        }));
        const expected = referenceChecksum(algorithm as 'CRC32', data);
        expect(put[`Checksum${algorithm}`], key).toBe(expected);
        const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key, ChecksumMode: 'ENABLED' }));
        expect(got[`Checksum${algorithm}`], key).toBe(expected);
        // The SDK validates the body against it while reading.
        expect((await bytesOf(Promise.resolve(got))).equals(data), key).toBe(true);
      }
    }
  });

  it('Content-MD5 is verified: a mismatch is 400 BadDigest and the previous version stays', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'md5/obj', Body: 'first' }));
    const good = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'md5/obj', Body: 'second', ContentMD5: Buffer.from(md5Hex('second'), 'hex').toString('base64') }));
    expect(good.ETag).toBe(`"${md5Hex('second')}"`);
    const bad = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'md5/obj', Body: 'third', ContentMD5: Buffer.from(md5Hex('other'), 'hex').toString('base64') })));
    expect(bad).toMatchObject({ name: 'BadDigest', status: 400 });
    const invalid = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'md5/obj', Body: 'third', ContentMD5: 'not-base64-md5' })));
    expect(invalid).toMatchObject({ name: 'InvalidDigest', status: 400 });
    expect((await readBack('md5/obj')).toString()).toBe('second');
    expect(await objectEventTypes(stack, 'alpha', 'md5/obj')).toEqual(['ObjectWritten', 'ObjectWritten']);
  });

  it('a tampered body is rejected and nothing is committed: Buffer (signed SHA-256), small stream and large stream (trailing CRC32)', async () => {
    const cases: { key: string; body: () => Buffer | Readable; size: number; at: number; code: string }[] = [
      { key: 'tamper/buffer', body: () => patternBytes(200_000, 1), size: 200_000, at: 1000, code: 'XAmzContentSHA256Mismatch' },
      { key: 'tamper/small-stream', body: () => streamOf(patternBytes(200_000, 2)), size: 200_000, at: 70_000, code: 'BadDigest' },
      { key: 'tamper/large-stream', body: () => streamOf(patternBytes(3 * MiB, 3)), size: 3 * MiB, at: 2 * MiB, code: 'BadDigest' },
    ];
    for (const c of cases) {
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: c.key, Body: 'the old version' }));
      const client = stack.client('alpha');
      tamperNextBody(client, c.at);
      const f = await failure(client.send(new PutObjectCommand({ Bucket: 'alpha', Key: c.key, Body: c.body(), ContentLength: c.size })));
      expect(f, c.key).toMatchObject({ name: c.code, status: 400 });
      expect((await readBack(c.key)).toString(), c.key).toBe('the old version');
      expect(await objectEventTypes(stack, 'alpha', c.key), c.key).toEqual(['ObjectWritten']);
      // And for a key that did not exist: still nothing.
      const fresh = stack.client('alpha');
      tamperNextBody(fresh, c.at);
      expect(await failure(fresh.send(new PutObjectCommand({ Bucket: 'alpha', Key: `${c.key}-new`, Body: c.body(), ContentLength: c.size }))), c.key)
        .toMatchObject({ name: c.code });
      expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: `${c.key}-new` }))), c.key).toMatchObject({ status: 404 });
    }
    // Bytes that reached a backend before the check failed are cleaned up.
    await expectConsistent(stack);
  });

  /** A PUT with a signed aws-chunked body: headers signed by the reference signer, every chunk signed. */
  async function signedChunkedPut(key: string, payload: Buffer, opts: { trailer: boolean; corrupt?: number; chunkSize?: number }) {
    const url = new URL(stack.url);
    const trailers: [string, string][] | undefined = opts.trailer ? [['x-amz-checksum-crc32', referenceChecksum('CRC32', payload)]] : undefined;
    const frame = (seed: string, signingKey: Buffer, scope: string, amzDate: string) => encodeAwsChunked(payload, {
      chunkSize: opts.chunkSize ?? 64 * 1024, signing: { seedSignature: seed, signingKey, scope, amzDate }, ...(trailers ? { trailers } : {}),
    }).body;
    const length = frame('0'.repeat(64), Buffer.alloc(32), 's', 'd').length;
    const headers: Record<string, string> = {
      host: url.host,
      'content-encoding': 'aws-chunked',
      'content-length': String(length),
      'x-amz-content-sha256': opts.trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-decoded-content-length': String(payload.length),
      ...(opts.trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}),
    };
    const signer = new SignatureV4({
      credentials: { accessKeyId: alpha.accessKeyId, secretAccessKey: alpha.secretAccessKey }, region: 'us-east-1', service: 's3',
      sha256: NodeSha256, uriEscapePath: false, applyChecksum: true,
    });
    const path = `/alpha/${key}`;
    const signed = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers });
    const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization as string)?.[1] as string;
    const amzDate = signed.headers['x-amz-date'] as string;
    const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const body = frame(seed, referenceSigningKey(alpha.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3'), scope, amzDate);
    if (opts.corrupt !== undefined) body[opts.corrupt] = (body[opts.corrupt] as number) ^ 0x01;
    return rawRequest(`${stack.url}${path}`, { method: 'PUT', headers: signed.headers as Record<string, string>, body });
  }

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk signature verified; a tampered chunk is 403 and commits nothing', async () => {
    for (const size of [200_000, 2 * MiB + 5]) {
      const payload = patternBytes(size, 40 + size);
      for (const trailer of [false, true]) {
        const key = `signed-chunks/${size}-${trailer}`;
        const ok = await signedChunkedPut(key, payload, { trailer });
        expect(ok.status, key).toBe(200);
        expect(ok.headers.etag, key).toBe(`"${md5Hex(payload)}"`);
        expect((await readBack(key)).equals(payload), key).toBe(true);
        const bad = await signedChunkedPut(key, patternBytes(size, 99), { trailer, corrupt: Math.floor(size / 2) });
        expect(bad.status, key).toBe(403);
        expect(parseErrorXml(bad.text).Code, key).toBe('SignatureDoesNotMatch');
        expect((await readBack(key)).equals(payload), key).toBe(true);
        expect(await objectEventTypes(stack, 'alpha', key), key).toEqual(['ObjectWritten']);
      }
    }
    await expectConsistent(stack);
  });

  it('UploadPart with a stream body and a checksum; a tampered part is rejected and not recorded', async () => {
    const key = 'mp/parts';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key, ChecksumAlgorithm: 'SHA256' }));
    const data = patternBytes(300_000, 5);
    const part = await s3.send(new UploadPartCommand({
      Bucket: 'alpha', Key: key, UploadId, PartNumber: 1, Body: streamOf(data), ContentLength: data.length, ChecksumAlgorithm: 'SHA256',
    }));
    expect(part.ETag).toBe(`"${md5Hex(data)}"`);
    expect(part.ChecksumSHA256).toBe(referenceChecksum('SHA256', data));
    const client = stack.client('alpha');
    tamperNextBody(client, 100_000);
    const f = await failure(client.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId, PartNumber: 2, Body: streamOf(data), ContentLength: data.length })));
    expect(f).toMatchObject({ name: 'BadDigest', status: 400 });
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId }));
    expect(parts.Parts?.map((p) => p.PartNumber)).toEqual([1]);
    const usage = await stack.db.pool.query<{ p: string }>('SELECT sum(pending_bytes) AS p FROM backend_usage');
    expect(Number(usage.rows[0]?.p)).toBe(data.length);
  });
});
