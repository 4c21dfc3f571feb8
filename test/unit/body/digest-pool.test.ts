import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBodyPipeline, type BodyExpectations } from '../../../gateway/body/index.js';
import { DIGEST_BATCH, DIGEST_WORKER_SOURCE, DigestPool, OffloadedDigests } from '../../../gateway/body/digest-pool.js';
import { DomainError } from '../../../domain/errors.js';
import { runPipeline, split, type WriteSizes } from './run-pipeline.js';

const ALGS = ['md5', 'sha256', 'sha1'];
const reference = (data: Buffer, algs = ALGS) => algs.map((a) => createHash(a).update(data).digest('hex'));
const unsigned = (extra: Partial<BodyExpectations> = {}): BodyExpectations => ({ payload: { kind: 'unsigned' }, checksumHeaders: {}, ...extra });

async function offloaded(pool: DigestPool, pieces: Buffer[], algs = ALGS): Promise<string[]> {
  const d = new OffloadedDigests(pool, algs);
  for (const p of pieces) d.update(p);
  return (await d.digest()).map((b) => b.toString('hex'));
}

describe('digests computed by worker threads', () => {
  const pool = new DigestPool(2);
  const data = randomBytes(3 * DIGEST_BATCH + 4_099);

  it('equal the main thread digests for any way of cutting the body, empty and odd sizes included', async () => {
    const cuts: [Buffer, WriteSizes][] = [
      [Buffer.alloc(0), 1],
      [data.subarray(0, 1), 1],
      [data.subarray(0, DIGEST_BATCH - 1), 65_536],
      [data.subarray(0, DIGEST_BATCH), DIGEST_BATCH],
      [data.subarray(0, DIGEST_BATCH + 1), [DIGEST_BATCH - 1, 1, 1]],
      [data, 'random'],
      [data, [1, 0, 65_537, 3 * DIGEST_BATCH]],
      [data, data.length],
    ];
    for (const [body, size] of cuts) {
      const pieces = body.length === 0 ? [Buffer.alloc(0), Buffer.alloc(0)] : split(body, size);
      expect(await offloaded(pool, pieces), `${body.length} bytes in ${pieces.length} pieces`).toEqual(reference(body));
    }
  });

  it('keeps concurrent bodies apart, an aborted one included', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => data.subarray(i * 997, data.length - i * 65_537));
    const aborted = new OffloadedDigests(pool, ['md5']);
    for (const p of split(data, 300_001)) aborted.update(p);
    const results = Promise.all(bodies.map((b, i) => offloaded(pool, split(b, 16_384 + i), ['md5'])));
    aborted.abort();
    expect(await results).toEqual(bodies.map((b) => reference(b, ['md5'])));
  });

  it('fails the body with InternalError when its worker fails; the next body gets a new worker', async () => {
    const healthy = Buffer.from(data);
    healthy[0] = 0;
    const poisoned = Buffer.from(data);
    poisoned[0] = 255;
    for (const crash of ['throw new Error("boom")', 'process.exit(3)']) {
      // Runs before the real worker's listener: a batch starting with 255 kills the worker.
      const failing = new DigestPool(1, `require('node:worker_threads').parentPort.on('message', (m) => {
        if (m.t === 'u' && new Uint8Array(m.b)[0] === 255) ${crash};
      });
      ${DIGEST_WORKER_SOURCE}`);
      expect(await offloaded(failing, [healthy])).toEqual(reference(healthy));
      const d = new OffloadedDigests(failing, ['md5']);
      d.update(poisoned);
      await expect(d.digest()).rejects.toMatchObject({ code: 'InternalError' });
      expect(await offloaded(failing, [healthy])).toEqual(reference(healthy));
    }
  });
});

describe('a worker that falls behind', () => {
  it('holds the body back once every slot is busy, and lets go of an aborted body', async () => {
    // Never hashes: every slot it is given stays busy.
    const stuck = new DigestPool(1, `require('node:worker_threads').parentPort.on('message', () => undefined);`);
    const d = new OffloadedDigests(stuck, ['md5']);
    d.update(randomBytes(3 * DIGEST_BATCH));
    expect(d.backlog()).toBeUndefined();
    d.update(randomBytes(2 * DIGEST_BATCH));
    const backlog = d.backlog();
    expect(backlog).toBeInstanceOf(Promise);
    d.abort();
    await backlog;
  });
});

describe('a body waiting for a slot', () => {
  it('goes on when any slot frees, not only the one it looked at first', async () => {
    // Holds every slot it is given; a body's end kills it, which frees that worker's slots. No
    // recheck while waiting: the waiting body must be woken by the slots its own worker does not hold.
    const pool = new DigestPool(2, `require('node:worker_threads').parentPort.on('message', (m) => { if (m.t === 'e') process.exit(3); });`, 600_000);
    const first = new OffloadedDigests(pool, ['md5']);
    first.update(randomBytes(DIGEST_BATCH));
    const second = new OffloadedDigests(pool, ['md5']);
    second.update(randomBytes(3 * DIGEST_BATCH));
    first.update(randomBytes(DIGEST_BATCH));
    const waiting = first.backlog();
    expect(waiting).toBeInstanceOf(Promise);
    await expect(second.digest()).rejects.toMatchObject({ code: 'InternalError' });
    await waiting;
    expect(first.backlog()).toBeUndefined();
    first.abort();
  });
});

describe('a streamed body past one batch', () => {
  const data = randomBytes(2 * DIGEST_BATCH + 333);
  const md5 = createHash('md5').update(data).digest();

  it('has its MD5 (the ETag) and SHA-256 computed off the main thread and verified as before', async () => {
    const run = await runPipeline(unsigned({ sha256: true, contentMd5: md5.toString('base64') }), data, 65_536);
    expect(run.out.equals(data)).toBe(true);
    expect(run.digests).toEqual({ md5Hex: md5.toString('hex'), size: data.length, sha256Hex: createHash('sha256').update(data).digest('hex') });
    const other = createHash('md5').update('other').digest('base64');
    expect(await runPipeline(unsigned({ contentMd5: other }), data, 65_536)).toMatchObject({ error: 'BadDigest', ended: false });
    const wrongSha = { payload: { kind: 'sha256', expectedHex: createHash('sha256').update('x').digest('hex') }, checksumHeaders: {} } as BodyExpectations;
    expect(await runPipeline(wrongSha, data, 65_536)).toMatchObject({ error: 'XAmzContentSHA256Mismatch', ended: false });
  });

  it('rejects its digests when cut off mid-body', async () => {
    const body = createBodyPipeline(unsigned());
    const source = new PassThrough();
    source.pipe(body.stream);
    body.stream.resume();
    body.stream.on('error', () => undefined);
    source.write(data.subarray(0, DIGEST_BATCH + 10));
    body.stream.destroy(new DomainError('IncompleteBody'));
    await expect(body.digests()).rejects.toMatchObject({ code: 'IncompleteBody' });
  });
});
