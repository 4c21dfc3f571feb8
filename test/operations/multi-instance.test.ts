import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startOrchestrator, type Orchestrator } from '../../ops/app.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';

const token = 'multi-token';

describe('several orchestrator instances on one database', () => {
  let stack: TestStack;
  let second: Orchestrator;
  beforeAll(async () => {
    stack = await startStack({
      backends: [{ quota: 50_000_000 }, { quota: 50_000_000 }],
      extraYaml: `ui:\n  admin_token: ${token}\nrebalance:\n  concurrency: 1`,
    });
    second = await startOrchestrator(parseOrThrow(stack.yaml(`ui:\n  admin_token: ${token}\nrebalance:\n  concurrency: 1`)), {
      logger: createLogger('silent'), database: { pool: stack.db.pool },
    });
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it('exactly one instance runs a drain; the other shows its progress and serves its objects', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 150; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `m/${i}`, Body: Buffer.alloc(2000 + i) }));
    const start = await fetch(`${second.url}/admin/api/backends/b1/drain`, { method: 'POST', headers: { 'x-admin-token': token } });
    expect(start.status).toBe(202);
    const { job_id: jobId } = (await start.json()) as { job_id: string };
    await expect.poll(() => stack.orchestrator.jobs.localJobs().length + second.jobs.localJobs().length, { timeout: 10_000, interval: 50 }).toBe(1);
    const runners = [stack.orchestrator, second].filter((o) => o.jobs.localJobs().includes(jobId));
    expect(runners).toHaveLength(1);
    // Both instances report the same progress from the projection while it runs.
    const status = async (o: Orchestrator) =>
      (await (await fetch(`${o.url}/admin/api/backends/b1/drain`, { headers: { 'x-admin-token': token } })).json()) as { state: string; job_id: string };
    expect((await status(stack.orchestrator)).job_id).toBe(jobId);
    expect((await status(second)).job_id).toBe(jobId);
    await expect.poll(async () => (await status(stack.orchestrator)).state, { timeout: 60_000, interval: 250 }).toBe('drained');
    expect((await status(second)).state).toBe('drained');
    const moved = Number((await stack.db.pool.query("SELECT count(*) AS n FROM object_copies WHERE backend = 'b2'")).rows[0].n);
    expect(moved).toBe(150);
    const history = (await stack.db.pool.query("SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'MoveCompleted'", [`job-${jobId}`])).rows[0].n;
    expect(history).toBe(150);
  });
});
