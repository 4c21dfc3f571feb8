import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

/**
 * The monthly usage of a backend counts what encrypt-existing does to it: each rewrite reads the
 * plaintext copy (one GET, its bytes as egress), writes the sealed copy (one PUT, the stored bytes
 * as ingress), and the old copy's removal by the cleanup worker is a request too. Counted live in
 * the status and, once flushed, in usage_monthly.
 */
const token = 'usage-rewrite-token';
const key = randomBytes(32).toString('base64');
const base = ['replication:', '  factor: 1', '  write_copies: 1', 'ui:', `  admin_token: ${token}`, 'telemetry:', '  metrics:', '    enabled: true'].join('\n');
const encryption = ['encryption:', '  enabled: true', `  master_key: "${key}"`, '  chunk_size: 4096'].join('\n');

interface Usage { api_requests: number; egress_bytes: number; ingress_bytes: number }

async function api(stack: TestStack, method: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.url}/admin/api/${path}`, { method, headers: { 'x-admin-token': token } });
  expect(res.status, path).toBe(200);
  return await res.json() as Record<string, unknown>;
}

/** The backend calls this process made, by operation, summed over outcomes (from /metrics). */
async function callsByOperation(stack: TestStack, backend: string): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const line of (await (await fetch(`${stack.url}/metrics`)).text()).split('\n')) {
    const m = /^s3o_backend_requests_total\{(.*)\} (\d+)$/.exec(line);
    if (!m?.[1]?.includes(`backend="${backend}"`)) continue;
    const op = /operation="([^"]+)"/.exec(m[1])?.[1] as string;
    calls.set(op, (calls.get(op) ?? 0) + Number(m[2]));
  }
  return calls;
}

const same = (a: Map<string, number>, b: Map<string, number>): boolean => a.size === b.size && [...a].every(([op, n]) => b.get(op) === n);

/** The status's usage and the calls by operation at one moment: no call ended while the status was read. */
async function snapshot(stack: TestStack, backend: string): Promise<{ usage: Usage; calls: Map<string, number> }> {
  for (;;) {
    const calls = await callsByOperation(stack, backend);
    const usage = await usageOf(stack, backend);
    if (same(calls, await callsByOperation(stack, backend))) return { usage, calls };
  }
}

const delta = (after: Map<string, number>, before: Map<string, number>, op: string): number => (after.get(op) ?? 0) - (before.get(op) ?? 0);

async function usageOf(stack: TestStack, backend: string): Promise<Usage> {
  const found = ((await api(stack, 'GET', 'status')).backends as (Usage & { name: string })[]).find((b) => b.name === backend);
  if (!found) throw new Error(`no backend ${backend} in the status`);
  return { api_requests: found.api_requests, egress_bytes: found.egress_bytes, ingress_bytes: found.ingress_bytes };
}

describe('monthly usage of encrypt-existing rewrites', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('counts a GET of the plaintext, a PUT of the stored bytes and the old copy\'s DELETE per object, live and in usage_monthly', async () => {
    stack = await startStack({ backends: [{ quota: 0 }], extraYaml: base });
    const sizes = [1, 100, 4095, 4096, 4097, 9000, 12_288];
    for (const [i, size] of sizes.entries()) {
      await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: `u${i}`, Body: randomBytes(size) }));
    }
    await stack.restart(`${base}\n${encryption}`);
    const backend = stack.config.backends[0]?.name as string;
    const { usage: before, calls: callsBefore } = await snapshot(stack, backend);
    // The first process flushed its PUTs' usage as it stopped; this one counts it from the start.
    expect(before.ingress_bytes).toBe(sizes.reduce((a, b) => a + b, 0));

    let out = '';
    const code = await adminCommand(['encrypt-existing', '--addr', stack.url, '--token', token], { out: { write: (s: string) => (out += s) }, err: { write: () => undefined } }, { pollIntervalMs: 50 });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ status: 'complete', encrypted: sizes.length, failed: 0 });
    const { pool } = stack.db;
    // The old plaintext copies are removed by the cleanup worker: wait until none is left to remove.
    await expect.poll(async () => Number((await pool.query("SELECT count(*) FROM cleanup_queue")).rows[0]?.count), { timeout: 30_000, interval: 100 }).toBe(0);
    const stored = (await pool.query<{ size: string }>("SELECT size FROM object_copies WHERE bucket = 'alpha'")).rows.map((r) => Number(r.size));
    expect(stored).toHaveLength(sizes.length);

    const { usage: after, calls: callsAfter } = await snapshot(stack, backend);
    const plain = sizes.reduce((a, b) => a + b, 0);
    expect(after.egress_bytes - before.egress_bytes).toBe(plain);
    expect(after.ingress_bytes - before.ingress_bytes).toBe(stored.reduce((a, b) => a + b, 0));
    // One GET, one PUT and one DELETE per object; any other metered call a background worker made
    // meanwhile (a listing, say) is counted too, so the total equals the calls made, exactly.
    // A cleanup delete may be tried again (seen in CI: 9 DELETEs for 7 objects); every try is a request.
    expect(['GetObject', 'PutObject'].map((op) => delta(callsAfter, callsBefore, op))).toEqual([sizes.length, sizes.length]);
    expect(delta(callsAfter, callsBefore, 'DeleteObject')).toBeGreaterThanOrEqual(sizes.length);
    const metered = ['PutObject', 'GetObject', 'HeadObject', 'DeleteObject', 'CreateMultipartUpload', 'UploadPart',
      'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListObjectsV2', 'CopyObject', 'ListMultipartUploads'];
    expect(after.api_requests - before.api_requests).toBe(metered.reduce((n, op) => n + delta(callsAfter, callsBefore, op), 0));

    // Flushed, the monthly row holds the same totals (and any request made since). The status
    // after the restart counts what the first process flushed on its way out, applied or not.
    await api(stack, 'POST', 'usage-flush');
    await expect.poll(async () => {
      const row = (await pool.query<Usage>(
        'SELECT api_requests::int, egress_bytes::int, ingress_bytes::int FROM usage_monthly WHERE backend = $1', [backend],
      )).rows[0];
      return row && { ...row, api_requests: row.api_requests >= after.api_requests };
    }, { timeout: 30_000, interval: 100 }).toEqual({ ...after, api_requests: true });
  }, 120_000);
});
