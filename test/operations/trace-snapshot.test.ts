import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const token = 'snap-t0k3n';

interface Snapshot {
  format: string;
  seconds: number;
  tracing: { enabled: boolean; sample_rate: number | null };
  requests: { held: number; listed: { request_id: string; method: string; status: number; failed: boolean; duration_ms: number; spans: { name: string; attributes: Record<string, unknown> }[] }[] };
  cpu_profile: { nodes: { id: number; callFrame: { functionName: string } }[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
  heap: { statistics: { used_heap_size: number; total_heap_size: number }; spaces: { space_name: string }[] };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await adminCommand(argv, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** GETs of one object, one after another, until `done` settles (and at most `limit`). */
async function loadUntil(stack: TestStack, done: Promise<unknown>, limit: number): Promise<number> {
  let settled = false;
  // Both ways, so a failing `done` is not also an unhandled rejection here (the caller awaits it).
  void done.then(() => (settled = true), () => (settled = true));
  const s3 = stack.client();
  let sent = 0;
  while (!settled && sent < limit) {
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'hot' })).then((r) => r.Body?.transformToString());
    sent += 1;
  }
  return sent;
}

function expectValidCpuProfile(p: Snapshot['cpu_profile']): void {
  expect(p.nodes.length).toBeGreaterThan(0);
  expect(p.endTime).toBeGreaterThan(p.startTime);
  expect(p.samples.length).toBeGreaterThan(0);
  expect(p.timeDeltas).toHaveLength(p.samples.length);
  const ids = new Set(p.nodes.map((n) => n.id));
  expect(p.samples.every((s) => ids.has(s))).toBe(true);
}

describe.each([
  ['on', 'telemetry:\n  tracing:\n    enabled: true\n    endpoint: "http://127.0.0.1:9"\n    insecure: true'],
  ['off', ''],
])('trace snapshot with tracing %s', (tracing, tracingYaml) => {
  let stack: TestStack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3o-snapshot-'));
    stack = await startStack({ extraYaml: `ui:\n  admin_token: ${token}\n${tracingYaml}`, start: { spanExporter: new InMemorySpanExporter() } });
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: 'hot', Body: 'x'.repeat(4096) }));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('taken under load, holds the recent requests (slowest first), a valid CPU profile and the heap figures', async () => {
    const file = join(dir, 'snapshot.json');
    const taking = cli(['--addr', stack.url, '--token', token, 'trace-snapshot', '--seconds', '2', '--out', file]);
    const sent = await loadUntil(stack, taking, 5000);
    const { code, out, err } = await taking;
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`wrote ${file}`);
    expect(sent).toBeGreaterThan(0);

    const snapshot = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
    expect(snapshot).toMatchObject({ format: 's3o-trace-snapshot/1', seconds: 2, tracing: { enabled: tracing === 'on' } });
    const gets = snapshot.requests.listed.filter((r) => r.method === 'GET' && r.status === 200);
    expect(gets.length).toBeGreaterThan(0);
    const durations = snapshot.requests.listed.filter((r) => !r.failed).map((r) => r.duration_ms);
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
    if (tracing === 'on') {
      const names = new Set(gets.flatMap((r) => r.spans.map((s) => s.name)));
      for (const name of ['HTTP GET', 'S3 GetObject', 'Backend GetObject']) expect(names.has(name), name).toBe(true);
      for (const r of gets) for (const s of r.spans) expect(s.attributes['s3o.request_id']).toBe(r.request_id);
    } else {
      expect(gets.every((r) => r.spans.length === 0)).toBe(true);
    }

    expectValidCpuProfile(snapshot.cpu_profile);
    expect(snapshot.cpu_profile.nodes.some((n) => n.callFrame.functionName === 'handleS3')).toBe(true);
    expect(snapshot.heap.statistics.used_heap_size).toBeGreaterThan(0);
    expect(snapshot.heap.spaces.map((s) => s.space_name)).toContain('old_space');
  });

  it('needs the admin token, takes one at a time, and refuses a duration out of range by name', async () => {
    const url = `${stack.url}/admin/api/trace-snapshot`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    // The second is sent once the first was recorded, which it is right before its 5 s profile
    // starts (two sent at once could be taken one after the other on a busy machine).
    const issued = async () => Number((await stack.db.pool.query(
      "SELECT count(*) AS n FROM events WHERE type = 'AdminCommandIssued' AND data->>'command' = 'trace-snapshot'")).rows[0].n);
    const before = await issued();
    const first = fetch(`${url}?seconds=5`, { method: 'POST', headers: { 'x-admin-token': token } });
    await expect.poll(issued, { timeout: 30_000, interval: 20 }).toBe(before + 1);
    const second = await fetch(`${url}?seconds=1`, { method: 'POST', headers: { 'x-admin-token': token } });
    expect(second.status).toBe(409);
    expect((await first).status).toBe(200);
    const tooLong = await fetch(`${url}?seconds=31`, { method: 'POST', headers: { 'x-admin-token': token } });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ field: 'seconds' });
    expect((await cli(['--addr', stack.url, '--token', token, 'trace-snapshot', '--seconds', '0'])).code).toBe(2);
  });
});
