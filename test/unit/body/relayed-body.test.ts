import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBodyPipeline, type BodyExpectations } from '../../../gateway/body/index.js';
import { DIGEST_BATCH, DIGEST_WORKER_SOURCE, DigestPool } from '../../../gateway/body/digest-pool.js';
import { runPipeline, split, type WriteSizes } from './run-pipeline.js';

const unsigned = (extra: Partial<BodyExpectations> = {}): BodyExpectations => ({ payload: { kind: 'unsigned' }, checksumHeaders: {}, ...extra });
const md5Of = (data: Buffer): Buffer => createHash('md5').update(data).digest();
const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const owned = { ownsChunks: true };
/** Resolves once `reached()` holds, looked at after each turn of the event loop (the worker's answers arrive as messages). */
async function until(reached: () => boolean): Promise<void> {
  while (!reached()) await new Promise((resolve) => setImmediate(resolve));
}

describe('a plain body whose chunks pass through the digest worker', () => {
  const data = randomBytes(3 * DIGEST_BATCH + 4_099);

  it('comes out whole and in order with the digests of the main thread, however it is cut', async () => {
    const cuts: [Buffer, WriteSizes][] = [
      [data.subarray(0, 1), 1],
      [data.subarray(0, DIGEST_BATCH - 1), 65_536],
      [data.subarray(0, DIGEST_BATCH), DIGEST_BATCH],
      [data.subarray(0, 2 * DIGEST_BATCH + 1), [DIGEST_BATCH - 1, 1, 1]],
      [data.subarray(0, DIGEST_BATCH + 70_000), 'random'],
      [data, [1, 0, 65_537, 3, 4_095, 4_096, 100_000]],
      [data, 65_536],
    ];
    for (const [body, size] of cuts) {
      const run = await runPipeline(unsigned({ sha256: true }), body, size, owned);
      const label = `${body.length} bytes cut ${JSON.stringify(size)}`;
      expect(run.out.equals(body), label).toBe(true);
      expect(run.digests, label).toEqual({ md5Hex: md5Of(body).toString('hex'), size: body.length, sha256Hex: sha256Hex(body) });
    }
    expect(await runPipeline(unsigned(), Buffer.alloc(0), 1, owned)).toMatchObject({ ended: true, digests: { size: 0 } });
  });

  it('is verified as before: a wrong Content-MD5 fails it before it ends', async () => {
    const contentMd5 = md5Of(Buffer.from('other')).toString('base64');
    expect(await runPipeline(unsigned({ contentMd5 }), data, 65_536, owned)).toMatchObject({ error: 'BadDigest', ended: false });
  });

  it('hands its chunks over instead of copying them: a chunk sent to the worker is no longer the writer\'s', async () => {
    const body = createBodyPipeline(unsigned(), owned);
    const chunks = split(data, 65_536);
    body.stream.resume();
    for (const c of chunks) body.stream.write(c);
    body.stream.end();
    await body.digests();
    expect(chunks.every((c) => c.buffer.byteLength === 0)).toBe(true);
  });

  it('holds the writer back while nobody reads it, then lets it all through', async () => {
    const body = createBodyPipeline(unsigned(), owned);
    const big = randomBytes(12 * DIGEST_BATCH);
    for (const c of split(big, 65_536)) body.stream.write(c);
    body.stream.end();
    // The window (4 MiB) fills with hashed bytes nobody reads; the rest waits as unaccepted writes.
    await until(() => body.stream.readableLength >= 4 * DIGEST_BATCH);
    expect(body.stream.readableLength).toBeLessThanOrEqual(5 * DIGEST_BATCH);
    expect(body.stream.writableLength).toBeGreaterThan(6 * DIGEST_BATCH);
    const out: Buffer[] = [];
    for await (const chunk of body.stream) out.push(chunk as Buffer);
    expect(Buffer.concat(out).equals(big)).toBe(true);
    expect((await body.digests()).md5Hex).toBe(md5Of(big).toString('hex'));
  });

  it('fails with InternalError, never ending cleanly, when its worker dies mid-body; the next body gets a new worker', async () => {
    // Runs before the real worker's listener: a batch starting with 255 kills the worker.
    const pool = new DigestPool(1, `require('node:worker_threads').parentPort.on('message', (m) => {
      if (m.t === 'x' && new Uint8Array(m.b[0])[0] === 255) process.exit(3);
    });
    ${DIGEST_WORKER_SOURCE}`);
    const healthy = Buffer.from(data);
    healthy[2 * DIGEST_BATCH] = 0;
    const poisoned = Buffer.from(data);
    poisoned[2 * DIGEST_BATCH] = 255; // the first byte of the third batch
    const failed = await runPipeline(unsigned(), poisoned, 65_536, { ...owned, pool });
    expect(failed).toMatchObject({ error: 'InternalError', ended: false });
    expect(failed.out.length).toBeLessThanOrEqual(2 * DIGEST_BATCH);
    const next = await runPipeline(unsigned(), healthy, 65_536, { ...owned, pool });
    expect(next.out.equals(healthy)).toBe(true);
    expect(next.digests?.md5Hex).toBe(md5Of(healthy).toString('hex'));
  });
});
