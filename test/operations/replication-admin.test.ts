import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { expectStorageInvariants } from '../support/backend-objects.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';

const token = 'replication-t0k3n';
const sections = (factor: number) => [
  `ui:\n  admin_token: ${token}`,
  `replication:\n  factor: ${factor}\n  worker_interval: 1h`,
  // Disabled: only an operator starts a run here.
  'rebalance:\n  enabled: false\n  strategy: spread\n  threshold: 0.01',
].join('\n');

async function cli(stack: TestStack, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await adminCommand(['--addr', stack.url, '--token', token, ...argv], {
    out: { write: (s: string) => (out += s), isTTY: false },
    err: { write: (s: string) => (err += s) },
  }, { pollIntervalMs: 100 });
  return { code, out, err };
}

async function api(stack: TestStack, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}/admin/api/${path}`, { method, headers: { 'x-admin-token': token } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('replication and rebalance on demand (admin API and s3o admin)', () => {
  let stack: TestStack;
  const copies = async (): Promise<number[]> =>
    (await stack.db.pool.query<{ n: number }>("SELECT count(c.backend)::int AS n FROM objects o LEFT JOIN object_copies c USING (bucket, key) GROUP BY o.key ORDER BY o.key")).rows.map((r) => r.n);

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 100_000 }, { quota: 100_000 }, { quota: 100_000 }], extraYaml: sections(2) });
    // Waits for the startup pass (passes run one at a time), so it cannot race the writes below.
    await stack.orchestrator.workers.replication.runOnce();
  });
  afterAll(async () => stack?.stop());

  it('replicates on POST replicate and s3o admin replicate', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `a/${i}`, Body: Buffer.alloc(1000, i) }));
    expect(await copies()).toEqual([1, 1, 1, 1, 1]);
    expect(await api(stack, 'POST', 'replicate')).toEqual({ status: 200, body: { status: 'ok', copies_created: 5, objects_short: 0 } });
    expect(await copies()).toEqual([2, 2, 2, 2, 2]);
    expect(await cli(stack, 'replicate')).toEqual({ code: 0, out: 'replication pass done: 0 copies created\n', err: '' });
    const audit = await stack.db.pool.query("SELECT data->>'command' AS command FROM events WHERE stream_id = 'admin'");
    expect(audit.rows.map((r: { command: string }) => r.command)).toEqual(['replicate', 'replicate']);
  });

  it('previews over-replication, and removes the excess with --execute (also after lowering the factor to 1)', async () => {
    await stack.orchestrator.reload(parseOrThrow(stack.yaml(sections(1))));
    expect(await api(stack, 'GET', 'over-replication')).toEqual({ status: 200, body: { factor: 1, pending: 5 } });
    expect(await cli(stack, 'over-replication')).toMatchObject({ code: 0, out: '5 objects with more than 1 copy (--execute removes the excess)\n' });
    expect(await copies()).toEqual([2, 2, 2, 2, 2]);
    expect(await cli(stack, 'over-replication', '--execute')).toMatchObject({ code: 0, out: 'removed 5 copies beyond the factor\n' });
    expect(await copies()).toEqual([1, 1, 1, 1, 1]);
    expect(await api(stack, 'POST', 'over-replication?execute')).toEqual({ status: 200, body: { status: 'ok', copies_removed: 0 } });
    await expectStorageInvariants(stack);
  });

  it('starts a rebalance job from s3o admin rebalance --watch even when periodic rebalancing is off', async () => {
    const run = await cli(stack, 'rebalance', '--watch');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^rebalance job \w+ completed: [1-9]\d* moved, 0 skipped, 0 failed\n$/m);
    const job = await stack.db.pool.query("SELECT state, actor FROM jobs WHERE kind = 'rebalance'");
    expect(job.rows).toEqual([{ state: 'completed', actor: 'admin' }]);
    // The moved copies' sources count as occupied until the reclaimer has deleted them.
    await stack.orchestrator.services.reclaimer.drain();
    const again = await api(stack, 'POST', 'rebalance');
    expect(again).toMatchObject({ status: 200, body: { status: 'skipped' } });
    await expectStorageInvariants(stack);
  });
});
