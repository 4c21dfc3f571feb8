import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendStreamId } from '../../domain/backends/backend-state.js';
import { expectStorageInvariants } from '../support/backend-objects.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const rebalance = (strategy: 'pack' | 'spread') =>
  ['rebalance:', '  enabled: true', `  strategy: ${strategy}`, '  interval: 1h', '  threshold: 0.1', '  batch_size: 100', '  concurrency: 4'].join('\n');

async function utilisation(stack: TestStack): Promise<Record<string, number>> {
  await stack.orchestrator.services.reclaimer.drain();
  const res = await stack.db.pool.query<{ backend: string; u: number }>(
    'SELECT backend, (bytes_used + orphan_bytes + pending_bytes)::float8 / quota_bytes AS u FROM backend_usage ORDER BY backend');
  return Object.fromEntries(res.rows.map((r) => [r.backend, r.u]));
}

async function copyRows(stack: TestStack, backend: string): Promise<string[]> {
  return (await stack.db.pool.query<{ k: string }>('SELECT key || \'@\' || storage_key AS k FROM object_copies WHERE backend = $1 ORDER BY 1', [backend])).rows.map((r) => r.k);
}

async function waitForJob(stack: TestStack, jobId: string) {
  await expect.poll(async () => (await stack.db.pool.query('SELECT state FROM jobs WHERE job_id = $1', [jobId])).rows[0]?.state, { timeout: 30_000, interval: 200 })
    .toBe('completed');
  return (await stack.db.pool.query('SELECT kind, objects_total::int, bytes_total::int, moved::int, moved_bytes::int, skipped::int, failed::int, in_flight::int FROM jobs WHERE job_id = $1', [jobId])).rows[0];
}

async function put(s3: S3Client, key: string, size: number): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: Buffer.alloc(size, key) }));
}

describe('rebalance (spread)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 20_000 }, { quota: 20_000 }, { quota: 20_000 }, { quota: 20_000 }], extraYaml: rebalance('spread') });
  });
  afterAll(async () => stack?.stop());

  it('evens out utilisation within the threshold as a job, never touching a draining backend', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 16; i++) await put(s3, `draining/${i}`, 500);
    // b1 becomes draining without a drain job running, so its copies stay where they are for the
    // whole test: whatever happens to them is the rebalancer's doing.
    const { store, events, backends } = stack.orchestrator.services;
    await store.appendToStream(backendStreamId('b1'), [events.event('BackendDrainStarted', { backend: 'b1', jobId: 'held-by-test' }, { actor: 'test' })], { expected: 'any' });
    await backends.refresh(stack.db.pool);
    const onB1 = await copyRows(stack, 'b1');
    for (let i = 0; i < 20; i++) await put(s3, `spread/${i}`, 500);
    expect(await utilisation(stack)).toEqual({ b1: 0.4, b2: 0.5, b3: 0, b4: 0 });

    const started = await stack.orchestrator.workers.rebalance.runOnce();
    expect(started).toMatchObject({ status: 'started', spread: 0.5 });
    if (started.status !== 'started') return;
    const job = await waitForJob(stack, started.jobId);
    expect(job).toEqual({
      kind: 'rebalance', objects_total: started.moves, bytes_total: started.bytes, moved: started.moves, moved_bytes: started.bytes, skipped: 0, failed: 0, in_flight: 0,
    });
    const moves = (await stack.db.pool.query("SELECT data FROM events WHERE stream_id = $1 AND type = 'MoveCompleted'", [`job-${started.jobId}`])).rows
      .map((r: { data: { from: string; to: { backend: string } } }) => [r.data.from, r.data.to.backend]);
    expect(moves.length).toBe(started.moves);
    expect(moves.flat()).not.toContain('b1');

    const u = await utilisation(stack);
    expect(u.b1).toBe(0.4);
    expect(await copyRows(stack, 'b1')).toEqual(onB1);
    const active = [u.b2!, u.b3!, u.b4!];
    expect(Math.max(...active) - Math.min(...active)).toBeLessThan(0.1);
    expect(await stack.orchestrator.workers.rebalance.runOnce()).toMatchObject({ status: 'skipped', reason: 'utilisation is within the threshold' });

    for (let i = 0; i < 20; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: `spread/${i}` }));
      expect(await got.Body!.transformToString()).toBe(Buffer.alloc(500, `spread/${i}`).toString());
    }
    await expectStorageInvariants(stack);
  });
});

describe('rebalance (pack)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 8_000 }, { quota: 8_000 }, { quota: 8_000 }], extraYaml: rebalance('pack') });
  });
  afterAll(async () => stack?.stop());

  it('empties the least utilised backend into fuller ones, in configuration order, until nothing more fits', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 30; i++) await put(s3, `p/${i}`, 400);
    // b1 filled first (20 objects), b2 took the rest; deleting 12 leaves b1 at 40 %, b2 at 50 %.
    for (let i = 0; i < 12; i++) await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: `p/${i}` }));
    expect(await utilisation(stack)).toEqual({ b1: 0.4, b2: 0.5, b3: 0 });
    await stack.orchestrator.services.backends.refresh(stack.db.pool);

    const started = await stack.orchestrator.workers.rebalance.runOnce();
    expect(started).toMatchObject({ status: 'started', moves: 8, bytes: 3200, spread: 0.5 });
    if (started.status !== 'started') return;
    expect(await waitForJob(stack, started.jobId)).toMatchObject({ kind: 'rebalance', objects_total: 8, moved: 8, skipped: 0, failed: 0 });

    expect(await utilisation(stack)).toEqual({ b1: 0, b2: 0.9, b3: 0 });
    // Converged: nothing left that a fuller backend could take.
    expect(await stack.orchestrator.workers.rebalance.runOnce()).toMatchObject({ status: 'skipped', reason: 'no copy can be moved closer to the goal' });
    for (let i = 12; i < 30; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: `p/${i}` }));
      expect(await got.Body!.transformToString()).toBe(Buffer.alloc(400, `p/${i}`).toString());
    }
    await expectStorageInvariants(stack);
  });
});
