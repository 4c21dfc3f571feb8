import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../support/orchestrator.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe('drain', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 10_000_000 }, { quota: 10_000_000 }] });
  });
  afterAll(async () => stack?.stop());

  it('moves every copy off the backend, keeps the data, and marks it drained', async () => {
    const s3 = stack.client();
    const bodies = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const body = `object ${i} `.repeat(1 + (i % 50));
      bodies.set(`k/${i}`, body);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `k/${i}`, Body: body }));
    }
    const on = async (b: string) => Number((await stack.db.pool.query('SELECT count(*) AS n FROM object_copies WHERE backend = $1', [b])).rows[0].n);
    expect(await on('b1')).toBe(60);
    const admin = stack.orchestrator.services.backendAdmin;
    const cause = { actor: 'operator:test' };
    await admin.startDrain('b1', cause);
    // Writes skip the draining backend at once: the router's view took the drain from its commit, no refresh needed.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'during-drain', Body: 'x' }));
    const during = (await stack.db.pool.query("SELECT backend FROM object_copies WHERE key = 'during-drain'")).rows;
    expect(during).toEqual([{ backend: 'b2' }]);

    await expect.poll(async () => (await admin.drainStatus('b1')).state, { timeout: 60_000, interval: 500 }).toBe('drained');
    const status = await admin.drainStatus('b1');
    expect(status).toMatchObject({ active: false, objectsRemaining: 0, bytesRemaining: 0, objectsMoved: 60 });
    expect(await on('b1')).toBe(0);
    for (const [key, body] of bodies) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      const text = await got.Body?.transformToString();
      expect(md5(text ?? '')).toBe(md5(body));
    }
    const usage = (await stack.db.pool.query("SELECT bytes_used::int AS used, object_count::int AS n FROM backend_usage WHERE backend = 'b1'")).rows[0];
    expect(usage).toEqual({ used: 0, n: 0 });
    // A drained backend takes no writes, also after a restart with it still in the config.
    await stack.restart();
    const s3b = stack.client();
    await s3b.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'after-restart', Body: 'y' }));
    const after = (await stack.db.pool.query("SELECT backend FROM object_copies WHERE key = 'after-restart'")).rows;
    expect(after[0].backend).not.toBe('b1');
    const history = (await stack.db.pool.query("SELECT type FROM events WHERE stream_id = 'backend-b1' ORDER BY revision")).rows.map((r: { type: string }) => r.type);
    expect(history).toEqual(['BackendRegistered', 'BackendDrainStarted', 'BackendDrained']);
  });
});
