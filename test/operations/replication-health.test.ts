import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendClient, expectStorageInvariants } from '../support/backend-objects.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/**
 * A long outage: copies on a backend whose circuit breaker has been open for
 * `unhealthy_threshold` stop counting, so replacements are made elsewhere; when the backend is
 * back, its copies count again and over-replication removes the excess, by utilisation.
 */
describe('health-aware replication', () => {
  let stack: TestStack;
  let s3: S3Client;
  const bodies = new Map<string, Buffer>();

  const copiesOf = async (key: string): Promise<string[]> =>
    (await stack.db.pool.query<{ backend: string }>("SELECT backend FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key])).rows.map((r) => r.backend);
  const allCopies = async (): Promise<string[][]> => Promise.all([...bodies.keys()].map(copiesOf));
  async function readAll(): Promise<void> {
    for (const [key, body] of bodies) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(md5(await got.Body!.transformToByteArray()), key).toBe(md5(body));
    }
  }

  beforeAll(async () => {
    stack = await startStack({
      // b2 has the smallest quota: once b1 is back, b2 is the most utilised backend.
      backends: [{ quota: 1_000_000 }, { quota: 300_000 }, { quota: 1_000_000 }],
      extraYaml: [
        'replication:', '  factor: 2', '  worker_interval: 1h', '  unhealthy_threshold: 1s',
        'backend_circuit_breaker:', '  enabled: true', '  failure_threshold: 2', '  open_timeout: 2s',
      ].join('\n'),
    });
    s3 = stack.client();
    // Waits for the startup pass (passes run one at a time), so it cannot race the writes below.
    await stack.orchestrator.workers.replication.runOnce();
  });
  afterAll(async () => stack?.stop());

  it('replaces the copies of a backend that stays down, and trims the excess once it is back', async () => {
    for (let i = 0; i < 10; i++) {
      const body = randomBytes(500 + 100 * i);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `o/${i}`, Body: body }));
      bodies.set(`o/${i}`, body);
    }
    expect(await stack.orchestrator.workers.replication.runOnce()).toEqual({ status: 'ok', copiesCreated: 10, objectsShort: 0 });
    expect(await allCopies()).toEqual(Array(10).fill(['b1', 'b2']));

    const b1 = stack.orchestrator.services.backends.require('b1').breaker;
    stack.s3rvers[0]!.kill();
    // Reads fail over to b2; their failures on b1 open its breaker.
    await readAll();
    expect(b1.current()).not.toBe('closed');
    // Before unhealthy_threshold the copies on b1 still count.
    await expect.poll(() => b1.openForMs(), { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(1000);

    expect(await stack.orchestrator.workers.replication.runOnce()).toEqual({ status: 'ok', copiesCreated: 10, objectsShort: 0 });
    expect(await allCopies()).toEqual(Array(10).fill(['b1', 'b2', 'b3']));
    // The replacements hold the same bytes (read straight from b3).
    const direct = backendClient(stack.s3rvers[2]!);
    try {
      const rows = await stack.db.pool.query<{ key: string; storage_key: string }>("SELECT key, storage_key FROM object_copies WHERE backend = 'b3'");
      for (const r of rows.rows) {
        const got = await direct.send(new GetObjectCommand({ Bucket: stack.s3rvers[2]!.bucket, Key: r.storage_key }));
        expect(md5(await got.Body!.transformToByteArray())).toBe(md5(bodies.get(r.key)!));
      }
    } finally {
      direct.destroy();
    }
    // While b1 is down its copies do not count: nothing is over-replicated yet.
    expect(await stack.orchestrator.workers.overReplication.pending()).toEqual({ factor: 2, pending: 0 });

    await stack.s3rvers[0]!.restart();
    // Once the open timeout has passed, reads probe b1 again; a success closes its breaker.
    await expect.poll(async () => {
      await readAll();
      return b1.current();
    }, { timeout: 15_000, interval: 250 }).toBe('closed');

    expect(await stack.orchestrator.workers.overReplication.pending()).toEqual({ factor: 2, pending: 10 });
    expect(await stack.orchestrator.workers.overReplication.runOnce()).toEqual({ status: 'ok', copiesRemoved: 10 });
    // Nothing drains and no breaker is open: the copy on the most utilised backend (b2) goes.
    expect(await allCopies()).toEqual(Array(10).fill(['b1', 'b3']));
    expect(await stack.orchestrator.workers.overReplication.pending()).toEqual({ factor: 2, pending: 0 });
    const dropped = await stack.db.pool.query("SELECT count(*)::int AS n FROM events WHERE type = 'ReplicaDropped' AND data->>'reason' = 'over-replication' AND data->'copy'->>'backend' = 'b2'");
    expect(dropped.rows[0]).toEqual({ n: 10 });
    await readAll();
    await expectStorageInvariants(stack);
    const usage = await stack.db.pool.query("SELECT object_count::int AS n, bytes_used::int AS used FROM backend_usage WHERE backend = 'b2'");
    expect(usage.rows[0]).toEqual({ n: 0, used: 0 });
  });
});
