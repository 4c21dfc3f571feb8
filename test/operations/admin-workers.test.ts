import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { rawRequest } from '../support/s3-e2e.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const token = 'w0rkers-t0ken';
const yaml = [
  `ui:\n  admin_token: ${token}`,
  'telemetry:\n  metrics:\n    enabled: true',
  'lifecycle:\n  interval: 1s\n  batch_size: 10\n  rules:\n    - prefix: tmp/\n      expiration_days: 1',
].join('\n');

interface WorkerRow { worker: string; runs: number; last_success_at: string | null; last_failure_at: string | null; last_error: string | null; consecutive_failures: number }

describe('admin workers', () => {
  let stack: TestStack;
  const workers = async (): Promise<{ instance: string; workers: WorkerRow[] }> => {
    const res = await rawRequest(`${stack.url}/admin/api/workers`, { headers: { 'x-admin-token': token } });
    expect(res.status).toBe(200);
    return JSON.parse(res.text) as { instance: string; workers: WorkerRow[] };
  };
  const lifecycle = async () => (await workers()).workers.find((w) => w.worker === 'lifecycle');
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await adminCommand(['--addr', stack.url, '--token', token, ...argv], {
      out: { write: (s: string) => (out += s), isTTY: false }, err: { write: (s: string) => (err += s) },
    });
    return { code, out, err };
  };

  beforeAll(async () => {
    stack = await startStack({ extraYaml: yaml });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('needs the admin token', async () => {
    expect((await rawRequest(`${stack.url}/admin/api/workers`)).status).toBe(401);
  });

  it('lists every worker, and shows a failing one with its error and consecutive failures until it succeeds again', async () => {
    const listed = (await workers()).workers.map((w) => w.worker);
    for (const name of ['backend-refresh', 'cleanup', 'job-supervisor', 'job:drain', 'lifecycle', 'replication', 'rebalance', 'usage-flush']) expect(listed).toContain(name);
    await expect.poll(async () => (await lifecycle())?.last_success_at ?? null, { timeout: 10_000, interval: 100 }).not.toBeNull();

    // The lifecycle worker's query fails while its table is missing.
    await stack.db.pool.query('ALTER TABLE objects RENAME TO objects_hidden');
    try {
      await expect.poll(async () => (await lifecycle())?.consecutive_failures, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    } finally {
      await stack.db.pool.query('ALTER TABLE objects_hidden RENAME TO objects');
    }
    const failing = await lifecycle();
    expect(failing?.last_error).toContain('"objects" does not exist');
    expect(failing?.last_failure_at).not.toBeNull();
    const metrics = (await rawRequest(`${stack.url}/metrics`)).text;
    expect(metrics).toMatch(/^s3o_worker_consecutive_failures\{worker="lifecycle"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^s3o_worker_last_success_timestamp_seconds\{worker="lifecycle"\} \d+(\.\d+)?$/m);

    const human = await cli('workers');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^instance \S+$/m);
    expect(human.out).toMatch(/^WORKER\s+RUNS\s+LAST SUCCESS\s+LAST FAILURE\s+FAILING\s+LAST ERROR$/m);
    expect(human.out).toMatch(/^lifecycle(?: \(running\))?\s+\d+\s+\d{4}-\d\d-\d\d \S+Z\s+\d{4}-\d\d-\d\d \S+Z\s+\d+\s+.*"objects" does not exist/m);

    await expect.poll(async () => (await lifecycle())?.consecutive_failures, { timeout: 15_000, interval: 100 }).toBe(0);
    const recovered = await lifecycle();
    expect(Date.parse(recovered?.last_success_at ?? '')).toBeGreaterThan(Date.parse(recovered?.last_failure_at ?? ''));
    expect(recovered?.last_error).toContain('"objects" does not exist');
    const json = await cli('workers', '--json');
    expect(JSON.parse(json.out).workers.find((w: WorkerRow) => w.worker === 'lifecycle').consecutive_failures).toBe(0);
  });
});
