import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { listBackend } from '../support/backend-objects.js';
import { startDroppingProxy, type DroppingProxy } from '../support/dropping-proxy.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { failure } from '../support/s3-e2e.js';
import type { S3rverInstance } from '../support/s3rver.js';

async function failedUploads(stack: TestStack, key: string): Promise<string[]> {
  const res = await stack.db.pool.query<{ backend: string }>(
    `SELECT data->>'backend' AS backend FROM events WHERE type = 'OrphanRecorded' AND data->>'reason' = 'failed_upload'
       AND data->>'storageKey' LIKE $1 ORDER BY seq`,
    [`alpha/${key}~%`],
  );
  return res.rows.map((r) => r.backend);
}

async function copiesOf(stack: TestStack, key: string): Promise<string[]> {
  const res = await stack.db.pool.query<{ backend: string }>(`SELECT backend FROM object_copies WHERE bucket = 'alpha' AND key = $1`, [key]);
  return res.rows.map((r) => r.backend);
}

/** Issue 8: one hostile or unlucky write must not take every backend down with it. */
describe('write failover', () => {
  const stacks: TestStack[] = [];
  let proxy: DroppingProxy | undefined;
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await proxy?.close();
  });

  it('one PUT with a 950-byte key segment neither takes down the s3rver backends nor makes later writes 503', async () => {
    const stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 10_000_000 }, { quota: 10_000_000 }] });
    stacks.push(stack);
    const s3 = stack.client('alpha');
    const key = `k/${'a'.repeat(950)}`;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'x' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()).toBe('x');
    // Every backend still answers, and later writes succeed.
    for (const s of stack.s3rvers) await listBackend(s);
    for (let i = 0; i < 3; i++) {
      expect((await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `after-${i}`, Body: 'y' }))).$metadata.httpStatusCode).toBe(200);
    }
    expect(await failedUploads(stack, 'k/%')).toEqual([]);
  });

  it('a failed write is retried on at most server.write_failover_attempts (default 2) other backends', async () => {
    const stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 10_000_000 }, { quota: 10_000_000 }, { quota: 10_000_000 }] });
    stacks.push(stack);
    expect(stack.config.server.write_failover_attempts).toBe(2);
    const [b1, b2, b3] = stack.s3rvers as [S3rverInstance, S3rverInstance, S3rverInstance];
    for (const s of [b1, b2, b3]) s.kill();
    const refused = await failure(stack.client('alpha').send(new PutObjectCommand({ Bucket: 'alpha', Key: 'bounded', Body: 'z' })));
    expect(refused).toMatchObject({ name: 'ServiceUnavailable', status: 503 });
    // b1, b2 and b3 tried once each (pack order); b4 was never sent it.
    expect(await failedUploads(stack, 'bounded')).toEqual(['b1', 'b2', 'b3']);
    expect(await listBackend(stack.s3rvers[3] as S3rverInstance)).toEqual([]);
  });

  it('a backend that drops the connection on a write is not handed that write again', async () => {
    const marker = 'application/x-drops-the-connection';
    const stack = await startStack({
      backends: [
        { quota: 10_000_000, endpoint: async (s) => (proxy = await startDroppingProxy(s.endpoint, marker)).endpoint },
        { quota: 10_000_000 },
      ],
    });
    stacks.push(stack);
    const s3 = stack.client('alpha');
    const put = () => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'poison', Body: 'same bytes', ContentType: marker }));
    await put();
    expect(proxy?.dropped()).toBe(1);
    expect(await copiesOf(stack, 'poison')).toEqual(['b2']);
    // The client's retry of the same write goes straight to b2.
    await put();
    expect(proxy?.dropped()).toBe(1);
    expect(await copiesOf(stack, 'poison')).toEqual(['b2']);
    expect(await failedUploads(stack, 'poison')).toEqual(['b1']);
    // Other writes still go to b1 first.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'other', Body: 'fine' }));
    expect(await copiesOf(stack, 'other')).toEqual(['b1']);
  });
});
