import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { errorCode, expectConsistent, failure, md5Hex, objectEventTypes, patternBytes, settleCleanup } from '../support/s3-e2e.js';

const N = 50;

/** Reads an object and checks that its bytes are the ones its ETag and Content-Length name. */
async function readConsistent(s3: S3Client, key: string): Promise<{ etag: string; size: number }> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
  const body = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  expect(got.ETag, key).toBe(`"${md5Hex(body)}"`);
  expect(got.ContentLength, key).toBe(body.length);
  return { etag: got.ETag as string, size: body.length };
}

async function liveRows(stack: TestStack, key: string): Promise<{ objects: number; copies: number }> {
  const o = await stack.db.pool.query('SELECT 1 FROM objects WHERE bucket = $1 AND key = $2', ['alpha', key]);
  const c = await stack.db.pool.query('SELECT 1 FROM object_copies WHERE bucket = $1 AND key = $2', ['alpha', key]);
  return { objects: o.rowCount ?? 0, copies: c.rowCount ?? 0 };
}

/** Waits until the router's view of every backend's usage equals the backend_usage rows. */
async function routerSeesDatabase(stack: TestStack): Promise<void> {
  const view = (): Record<string, unknown> => Object.fromEntries(stack.config.backends.map((b) => {
    const s = stack.orchestrator.services.backends.state(b.name);
    return [b.name, { used: s?.usedBytes, orphan: s?.orphanBytes, pending: s?.pendingBytes }];
  }));
  await expect.poll(async () => {
    const rows = await stack.db.pool.query<{ backend: string; bytes_used: string; orphan_bytes: string; pending_bytes: string }>(
      'SELECT backend, bytes_used, orphan_bytes, pending_bytes FROM backend_usage');
    const db = Object.fromEntries(rows.rows.map((r) => [r.backend, { used: Number(r.bytes_used), orphan: Number(r.orphan_bytes), pending: Number(r.pending_bytes) }]));
    return JSON.stringify(view()) === JSON.stringify(Object.fromEntries(Object.keys(view()).map((k) => [k, db[k]])));
  }, { timeout: 20_000, interval: 100 }).toBe(true);
}

describe('S3 under concurrency: one live version per key, quotas never overfilled, nothing untracked', () => {
  let stack: TestStack;
  let s3: S3Client;

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 20_000 }] });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  it(`${N} concurrent overwrites of one key, with readers racing them`, async () => {
    const key = 'hot/key';
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'seed' }));
    const bodies = Array.from({ length: N }, (_, i) => patternBytes(1000 + i * 97, i + 1));
    const byEtag = new Map(bodies.map((b) => [`"${md5Hex(b)}"`, b]));
    let writing = true;
    const readers = Array.from({ length: 4 }, async () => {
      let reads = 0;
      while (writing || reads === 0) {
        // Every read during the race sees one whole version: the seed or one of the bodies.
        const seen = await readConsistent(s3, key);
        expect(seen.etag === `"${md5Hex('seed')}"` || byEtag.has(seen.etag)).toBe(true);
        reads++;
      }
      return reads;
    });
    const results = await Promise.allSettled(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body }))));
    writing = false;
    await Promise.all(readers);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.map((r) => (r as PromiseRejectedResult).reason)).toEqual([]);
    for (const [i, r] of results.entries()) expect((r as PromiseFulfilledResult<{ ETag?: string }>).value.ETag).toBe(`"${md5Hex(bodies[i] as Buffer)}"`);

    // The winner is whichever committed last; it is a whole version, with one row and one copy.
    const final = await readConsistent(s3, key);
    expect(byEtag.has(final.etag)).toBe(true);
    expect(final.size).toBe((byEtag.get(final.etag) as Buffer).length);
    expect(await liveRows(stack, key)).toEqual({ objects: 1, copies: 1 });
    const types = await objectEventTypes(stack, 'alpha', key);
    expect(types).toEqual(Array.from({ length: N + 1 }, () => 'ObjectWritten'));
    await expectConsistent(stack);
  });

  it(`${N} concurrent PUTs compete for the last bytes of the quotas: exactly what fits is committed, the rest is 507`, async () => {
    // The router places by its own view of the backends, refreshed every second; a refresh read
    // just before the last cleanup committed still counts the first test's orphans. Fill only once
    // it sees what the database holds.
    await routerSeesDatabase(stack);
    // Fill b1 to its last 5,000 bytes and b2 to its last 3,000.
    const b1 = await stack.db.pool.query<{ used: string }>(`SELECT bytes_used AS used FROM backend_usage WHERE backend = 'b1'`);
    const fill1 = 10_000_000 - Number(b1.rows[0]?.used) - 5_000;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'fill/b1', Body: patternBytes(fill1, 99) }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'fill/b2', Body: patternBytes(17_000, 98) }));
    const usage = async () => Object.fromEntries((await stack.db.pool.query<{ backend: string; bytes_used: string; orphan_bytes: string }>(
      'SELECT backend, bytes_used, orphan_bytes FROM backend_usage ORDER BY backend')).rows.map((r) => [r.backend, Number(r.bytes_used)]));
    expect(await usage()).toEqual({ b1: 9_995_000, b2: 17_000 });

    const keys = Array.from({ length: N }, (_, i) => `race/${String(i).padStart(2, '0')}`);
    const bodies = keys.map((_, i) => patternBytes(1000, 1000 + i));
    const results = await Promise.allSettled(keys.map((Key, i) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key, Body: bodies[i] }))));
    const won = keys.filter((_, i) => results[i]?.status === 'fulfilled');
    const lost = keys.filter((_, i) => results[i]?.status === 'rejected');
    // 5 fit on b1 and 3 on b2.
    expect(won.length).toBe(8);
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') expect(await failure(Promise.reject(r.reason)), keys[i]).toMatchObject({ name: 'InsufficientStorage', status: 507 });
    }
    expect(await usage()).toEqual({ b1: 10_000_000, b2: 20_000 });
    for (const key of won) {
      const seen = await readConsistent(s3, key);
      expect(seen.etag).toBe(`"${md5Hex(bodies[keys.indexOf(key)] as Buffer)}"`);
      expect(await liveRows(stack, key)).toEqual({ objects: 1, copies: 1 });
    }
    for (const key of lost) {
      expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key }))), key).toBe('NotFound');
      expect(await objectEventTypes(stack, 'alpha', key), key).toEqual([]);
    }
    // The losers' bytes reached a backend before the commit refused them: they are cleaned up.
    await expectConsistent(stack);
  });

  it(`${N} concurrent create-only PUTs (If-None-Match: *) of one key: exactly one wins`, async () => {
    // Make room again: the previous test filled both backends.
    for (const fill of ['fill/b1', 'fill/b2']) await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: fill }));
    await settleCleanup(stack);
    const key = 'create-once';
    const bodies = Array.from({ length: N }, (_, i) => patternBytes(700 + i, 3000 + i));
    const results = await Promise.allSettled(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body, IfNoneMatch: '*' }))));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners.length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(await failure(Promise.reject(r.reason))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    }
    const seen = await readConsistent(s3, key);
    expect(seen.etag).toBe(`"${md5Hex(bodies[winners[0] as number] as Buffer)}"`);
    expect(await objectEventTypes(stack, 'alpha', key)).toEqual(['ObjectWritten']);
    expect(await liveRows(stack, key)).toEqual({ objects: 1, copies: 1 });
  });

  it(`${N} concurrent writers and deleters on a few keys end with one live version or none per key`, async () => {
    const keys = ['mix/a', 'mix/b', 'mix/c'];
    const ops = Array.from({ length: N }, (_, i) => {
      const key = keys[i % keys.length] as string;
      return i % 5 === 4
        ? s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: key }))
        : s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: patternBytes(500 + i, 2000 + i) }));
    });
    const results = await Promise.allSettled(ops);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([]);
    for (const key of keys) {
      const rows = await liveRows(stack, key);
      const last = (await objectEventTypes(stack, 'alpha', key)).at(-1);
      if (last === 'ObjectDeleted') {
        expect(rows, key).toEqual({ objects: 0, copies: 0 });
        expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key }))), key).toBe('NotFound');
      } else {
        expect(rows, key).toEqual({ objects: 1, copies: 1 });
        await readConsistent(s3, key);
      }
    }
    await expectConsistent(stack);
  });
});
