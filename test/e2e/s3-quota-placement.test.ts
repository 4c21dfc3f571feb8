import http from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectBody } from '../../infra/backend/index.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { expectConsistent, failure, md5Hex, parseErrorXml, patternBytes, settleCleanup } from '../support/s3-e2e.js';
import { NodeSha256 } from '../unit/auth/signing-support.js';

const MiB = 1024 * 1024;

const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

async function backendOf(stack: TestStack, key: string): Promise<string[]> {
  const res = await stack.db.pool.query<{ backend: string }>('SELECT backend FROM object_copies WHERE bucket = $1 AND key = $2 ORDER BY backend', ['alpha', key]);
  return res.rows.map((r) => r.backend);
}

async function usage(stack: TestStack): Promise<Record<string, { used: number; pending: number; orphan: number }>> {
  const res = await stack.db.pool.query<{ backend: string; bytes_used: string; pending_bytes: string; orphan_bytes: string }>('SELECT * FROM backend_usage');
  return Object.fromEntries(res.rows.map((r) => [r.backend, { used: Number(r.bytes_used), pending: Number(r.pending_bytes), orphan: Number(r.orphan_bytes) }]));
}

/** Sends headers with `Expect: 100-continue` and the body only if the server says 100 Continue. */
async function expectContinuePut(stack: TestStack, bucket: TestBucket, key: string, body: Buffer): Promise<{ status: number; continued: boolean; text: string }> {
  const url = new URL(stack.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey }, region: 'us-east-1', service: 's3',
    sha256: NodeSha256, uriEscapePath: false, applyChecksum: true,
  });
  const path = `/${bucket.name}/${key}`;
  const signed = await signer.sign({
    method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {},
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(body.length), expect: '100-continue' },
  });
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request(`${stack.url}${path}`, { method: 'PUT', headers: signed.headers as Record<string, string> });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (!continued) req.destroy();
        resolve({ status: res.statusCode ?? 0, continued, text: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', (err) => (continued ? reject(err) : undefined));
    req.flushHeaders();
  });
}

describeOnEachBackend('S3 placement: pack, quotas, 507, Expect: 100-continue, pending multipart bytes', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 1000 }, { quota: 1500 }], on });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  it('pack fills backends in configuration order and overflows to the next one with room', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/1', Body: patternBytes(600, 1) }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/2', Body: patternBytes(600, 2) }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/3', Body: patternBytes(400, 3) }));
    expect([await backendOf(stack, 'p/1'), await backendOf(stack, 'p/2'), await backendOf(stack, 'p/3')]).toEqual([['b1'], ['b2'], ['b1']]);
    expect(await usage(stack)).toEqual({ b1: { used: 1000, pending: 0, orphan: 0 }, b2: { used: 600, pending: 0, orphan: 0 } });
  });

  it('no backend with room: 507 InsufficientStorage as S3 XML, nothing written', async () => {
    const f = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/too-big', Body: patternBytes(901, 4) })));
    expect(f).toMatchObject({ status: 507 });
    expect(f.name).toBe('InsufficientStorage');
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'p/too-big' })))).toMatchObject({ status: 404 });
    // Exactly the room left fits.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/exact', Body: patternBytes(900, 5) }));
    expect(await backendOf(stack, 'p/exact')).toEqual(['b2']);
    expect(await usage(stack)).toEqual({ b1: { used: 1000, pending: 0, orphan: 0 }, b2: { used: 1500, pending: 0, orphan: 0 } });
  });

  it('Expect: 100-continue is answered with 507 before the body is sent when no backend has room', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const refused = await expectContinuePut(stack, alpha, 'p/continue', patternBytes(10, 6));
    expect(refused).toMatchObject({ status: 507, continued: false });
    expect(parseErrorXml(refused.text).Code).toBe('InsufficientStorage');
    // Bad credentials are refused before the body as well.
    const wrong = await expectContinuePut(stack, { ...alpha, secretAccessKey: 'wrong' }, 'p/continue', patternBytes(10, 6));
    expect(wrong).toMatchObject({ status: 403, continued: false });
  });

  it('deleting frees the quota once the bytes are reclaimed', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'p/1' }));
    await settleCleanup(stack);
    expect((await usage(stack)).b1).toEqual({ used: 400, pending: 0, orphan: 0 });
    const alpha = stack.buckets[0] as TestBucket;
    const accepted = await expectContinuePut(stack, alpha, 'p/continue', patternBytes(500, 7));
    expect(accepted).toMatchObject({ status: 200, continued: true });
    expect(await backendOf(stack, 'p/continue')).toEqual(['b1']);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'p/continue' })))).equals(patternBytes(500, 7))).toBe(true);
  });

  it('multipart part bytes count against the quota as they arrive (pending bytes)', async () => {
    // b1 has 100 bytes left, b2 none.
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'p/mp' }));
    const backends = stack.orchestrator.services.backends;
    const client = backends.require('b1').client;
    const original = client.uploadPart.bind(client);
    // The router's view is refreshed while part 1 streams: no read shows its room yet, which must still count.
    client.uploadPart = async (...args: Parameters<typeof original>) => {
      await backends.refresh(stack.db.pool);
      return original(...args);
    };
    await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'p/mp', UploadId, PartNumber: 1, Body: patternBytes(60, 8) }));
    expect((await usage(stack)).b1).toEqual({ used: 900, pending: 60, orphan: 0 });
    // Now a 50-byte PUT does not fit anywhere…
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'p/after-part', Body: patternBytes(50, 9) })))).toMatchObject({ status: 507 });
    // …nor does a part that would overfill the upload's backend: refused before any byte goes there.
    const sentParts: number[] = [];
    client.uploadPart = (...args: Parameters<typeof original>) => {
      sentParts.push(args[2]);
      return original(...args);
    };
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'p/mp', UploadId, PartNumber: 2, Body: patternBytes(50, 10) }))))
      .toMatchObject({ name: 'InsufficientStorage', status: 507 });
    expect(sentParts).toEqual([]);
    expect((await usage(stack)).b1?.pending).toBe(60);
    // Re-uploading a part replaces its bytes rather than adding to them.
    await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'p/mp', UploadId, PartNumber: 1, Body: patternBytes(90, 11) }));
    expect((await usage(stack)).b1?.pending).toBe(90);
    expect(sentParts).toEqual([1]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'p/mp', UploadId }));
    expect((await usage(stack)).b1?.pending).toBe(0);
  });

  it('usage equals the live copies and nothing is untracked', async () => {
    await expectConsistent(stack, { allowPendingCleanup: true });
  });
});

describeOnEachBackend('S3 placement: spread', (on) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000 }, { quota: 20_000 }, { quota: 10_000 }], extraYaml: 'routing_strategy: spread', on });
  });
  afterAll(async () => stack?.stop());

  it('each write goes to the backend with the lowest utilisation', async () => {
    const s3 = stack.client('alpha');
    const placed: string[] = [];
    for (let i = 0; i < 8; i++) {
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `s/${i}`, Body: patternBytes(1000, i) }));
      placed.push(...(await backendOf(stack, `s/${i}`)));
    }
    // Utilisation after each: b1 0.1 → b2 0.05 → b3 0.1 → b2 0.1 → b1 0.2 (ties go in configuration order) …
    expect(placed).toEqual(['b1', 'b2', 'b3', 'b2', 'b1', 'b2', 'b3', 'b2']);
    await expectConsistent(stack);
  });
});

describe('S3 placement: failover and streaming of large bodies', () => {
  let stack: TestStack;
  let s3: S3Client;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 100 * MiB }, { quota: 100 * MiB }], serverYaml: '  small_body_buffer: 1MiB' });
    s3 = stack.client('alpha');
  });
  // The backends a case killed (restarting every s3rver after every case cost two process starts each).
  const killed = new Set<number>();
  const kill = (index: number): void => {
    killed.add(index);
    stack.s3rvers[index]?.kill();
  };
  afterEach(async () => {
    for (const i of killed) await stack.s3rvers[i]?.restart().catch(() => undefined);
    killed.clear();
  });
  afterAll(async () => stack?.stop());

  it('a small body fails over to the next backend when the first is down', async () => {
    kill(0);
    const data = patternBytes(100_000, 21);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/small', Body: data }));
    expect(put.ETag).toBe(`"${md5Hex(data)}"`);
    expect(await backendOf(stack, 'f/small')).toEqual(['b2']);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'f/small' })))).equals(data)).toBe(true);
  });

  it('bodies above small_body_buffer are streamed to the backend, never held whole in memory', async () => {
    const seen: { backend: string; buffered: boolean }[] = [];
    for (const name of ['b1', 'b2']) {
      const client = stack.orchestrator.services.backends.require(name).client;
      const original = client.putObject.bind(client);
      client.putObject = (key: string, body: ObjectBody, options: Parameters<typeof original>[2]) => {
        seen.push({ backend: name, buffered: Buffer.isBuffer(body) });
        return original(key, body, options);
      };
    }
    const large = patternBytes(4 * MiB + 1, 22);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/large', Body: large }));
    expect(put.ETag).toBe(`"${md5Hex(large)}"`);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/small-buffered', Body: patternBytes(1000, 23) }));
    expect(seen).toEqual([{ backend: 'b1', buffered: false }, { backend: 'b1', buffered: true }]);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'f/large' })))).equals(large)).toBe(true);
  });

  it('a large body whose backend is down, or dies mid-stream, is not committed; the client gets a retryable 503', async () => {
    const large = patternBytes(2 * MiB, 24);
    kill(0);
    // A streamed body cannot be replayed to another backend: the client retries (and the breaker steers it).
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/large-down', Body: large })))).toMatchObject({ status: 503 });
    await stack.s3rvers[0]?.restart();

    // b1 dies once its upload has taken 1 MiB of the 2: killed from inside the body the gateway
    // streams to it, so the upload has surely started (a kill timed by what the client had sent
    // could come before the gateway reached b1 on a busy machine, and the PUT went to b2).
    const b1 = stack.orchestrator.services.backends.require('b1').client;
    const putObject = b1.putObject;
    const putToB1 = putObject.bind(b1);
    b1.putObject = (key: string, body: ObjectBody, options: Parameters<typeof putToB1>[2]) => {
      if (Buffer.isBuffer(body)) return putToB1(key, body, options);
      let passed = 0;
      const watched = body.pipe(new PassThrough({
        transform(chunk: Buffer, _encoding, done) {
          passed += chunk.length;
          if (passed >= MiB) kill(0);
          done(null, chunk);
        },
      }));
      return putToB1(key, watched, options);
    };
    const dying = Readable.from((function* () {
      for (let off = 0; off < large.length; off += 256 * 1024) yield large.subarray(off, off + 256 * 1024);
    })());
    const f = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/large-dying', Body: dying, ContentLength: large.length })));
    b1.putObject = putObject;
    expect(f.status).toBe(503);
    for (const key of ['f/large-down', 'f/large-dying']) {
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))), key).toMatchObject({ status: 404 });
    }
  });

  it('CreateMultipartUpload fails over to the next backend; with none answering it is 503', async () => {
    kill(0);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'f/mp-failover' }));
    const rows = await stack.db.pool.query<{ backend: string }>('SELECT backend FROM multipart_uploads WHERE upload_id = $1', [UploadId]);
    expect(rows.rows.map((r) => r.backend)).toEqual(['b2']);
    kill(1);
    expect(await failure(s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'f/mp-none' })))).toMatchObject({ name: 'ServiceUnavailable', status: 503 });
  });

  it('a part upload to a backend that is down answers 503 (it does not hang)', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'f/mp' }));
    const [row] = (await stack.db.pool.query<{ backend: string }>('SELECT backend FROM multipart_uploads WHERE upload_id = $1', [UploadId])).rows;
    kill(row?.backend === 'b1' ? 0 : 1);
    const part = patternBytes(2 * MiB, 25);
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'f/mp', UploadId, PartNumber: 1, Body: part })))).toMatchObject({ status: 503 });
    expect(await failure(s3.send(new UploadPartCommand({
      Bucket: 'alpha', Key: 'f/mp', UploadId, PartNumber: 1, Body: Readable.from([part]), ContentLength: part.length,
    })))).toMatchObject({ status: 503 });
  });

  it('GET of an object whose only backend is down is 503, and works again once it is back', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'f/on-b1', Body: 'on b1' }));
    const [backend] = await backendOf(stack, 'f/on-b1');
    const index = backend === 'b1' ? 0 : 1;
    kill(index);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'f/on-b1' })))).toMatchObject({ status: 503 });
    await stack.s3rvers[index]?.restart();
    await expect.poll(async () => {
      try {
        return await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'f/on-b1' }))).Body?.transformToString();
      } catch {
        return undefined;
      }
    }, { timeout: 30_000, interval: 200 }).toBe('on b1');
  });
});
