import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { keysOnBackend, recordExhaustedOrphan } from '../support/admin-fixtures.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';

const token = 'cli-t0k3n';
/** One cleanup at a time: s3rver fails concurrent deletes under one prefix (see admin-api.test.ts). */
const adminYaml = [`ui:\n  admin_token: ${token}`, 'cleanup_queue:\n  concurrency: 1', 'usage_flush:\n  interval: 1h\n  fast_interval: 30m'].join('\n');

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs `s3o admin …` in-process with its output captured. */
async function run(argv: string[], opts: { tty?: boolean } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await adminCommand(argv, {
    out: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
    err: { write: (s: string) => (err += s) },
  }, { pollIntervalMs: 100 });
  return { code, out, err };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === 'object' && address ? address.port : 1;
}

describe('s3o admin', () => {
  let stack: TestStack;
  let dir: string;
  const admin = (...argv: string[]) => run(['--addr', stack.url, '--token', token, ...argv]);
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 50_000_000 }, { quota: 50_000_000 }, { quota: 50_000_000 }], extraYaml: adminYaml });
    dir = await mkdtemp(join(tmpdir(), 's3o-admin-cli-'));
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('reaching the orchestrator', () => {
    it('prints the status as tables, or the raw response with --json', async () => {
      const human = await admin('status');
      expect(human.code).toBe(0);
      expect(human.err).toBe('');
      expect(human.out).toContain('database: healthy');
      expect(human.out).toMatch(/^BACKEND\s+STATE\s+CONFIGURED\s+USED \/ QUOTA/m);
      expect(human.out).toMatch(/^b1\s+active\s+yes\s+0 B \/ 47\.7 MiB/m);
      expect(human.out).toMatch(/^alpha\s+\d+\s+/m);
      expect(human.out).toContain('no running jobs');
      const json = await admin('status', '--json');
      expect(json.code).toBe(0);
      const parsed = JSON.parse(json.out) as { db_healthy: boolean; backends: { name: string }[] };
      expect(parsed.db_healthy).toBe(true);
      expect(parsed.backends.map((b) => b.name)).toEqual(['b1', 'b2', 'b3']);
    });

    it('takes the address and the token from the configuration (also as the original\'s -config)', async () => {
      const port = new URL(stack.url).port;
      const file = join(dir, 'config.yaml');
      await writeFile(file, stack.yaml().replace('listen_addr: "127.0.0.1:0"', `listen_addr: ":${port}"`));
      const r = await run(['--config', file, 'status']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect((await run(['-config', file, 'log-level'])).out).toMatch(/^log level: /);

      const bare = join(dir, 'no-token.yaml');
      await writeFile(bare, stack.yaml('').replace('listen_addr: "127.0.0.1:0"', `listen_addr: ":${port}"`));
      const refused = await run(['--config', bare, 'status']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('sets neither ui.admin_token nor ui.admin_key, so the admin API is disabled');
    });

    it('exits 1 with a clear message on a wrong token or an orchestrator that is not there', async () => {
      const denied = await run(['--addr', stack.url, '--token', 'wrong', 'status']);
      expect(denied.code).toBe(1);
      expect(denied.err).toBe('error: unauthorized (HTTP 401) — check --token, S3O_ADMIN_TOKEN or ui.admin_token\n');
      const port = await closedPort();
      const down = await run(['--addr', `127.0.0.1:${port}`, '--token', token, 'status']);
      expect(down.code).toBe(1);
      expect(down.err).toBe(`error: cannot reach the orchestrator at http://127.0.0.1:${port}: connection refused — is it running?\n`);
    });

    it('exits 2 on wrong usage', async () => {
      expect((await admin('frobnicate')).code).toBe(2);
      const missing = await admin('drain');
      expect(missing).toMatchObject({ code: 2, err: 'usage: s3o admin drain <backend>\n' });
      expect((await admin('status', '--purge')).err).toBe('--purge does not apply to "status"\n');
      expect((await admin('remove-backend', 'b1', '--confirm')).err).toBe('--confirm only goes with --purge\n');
      expect((await admin('history', 'no-slash')).code).toBe(2);
      const help = await run(['--help']);
      expect(help.code).toBe(0);
      expect(help.out).toContain('drain-status <backend>');
    });

    it('prints the error body with --json and still exits 1', async () => {
      const r = await admin('drain', 'nope', '--json');
      expect(r.code).toBe(1);
      expect(JSON.parse(r.out)).toMatchObject({ code: 'NotFound' });
      expect(r.err).toContain('(HTTP 404)');
    });
  });

  describe('a drain followed to the end', () => {
    let jobId = '';

    it('drains, watches the progress until done, and lists the job', async () => {
      const s3 = stack.client();
      for (let i = 0; i < 8; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `cli/${i}`, Body: `cli body ${i} `.repeat(20) }));
      const started = await admin('drain', 'b1');
      expect(started.code).toBe(0);
      const m = /^drain of b1 started \(job (\w+)\); it takes no new writes\.\nFollow it with: s3o admin drain-status b1 --watch\n$/.exec(started.out);
      expect(m, started.out).not.toBeNull();
      jobId = m?.[1] ?? '';

      const watched = await admin('drain-status', 'b1', '--watch');
      expect(watched.code).toBe(0);
      expect(watched.out).toMatch(/^b1 \[[#-]{30}\] +\d+\.\d% \d+\/\d+ /m);
      expect(watched.out).toMatch(/^state: +drained$/m);
      expect(watched.out).toMatch(/^objects remaining: +0 \(0 B\)$/m);
      expect(watched.out).toMatch(/^moved: +8 /m);
      expect(watched.out).toContain('b1 is drained: no copy is left on it');

      const onTerminal = await run(['--addr', stack.url, '--token', token, 'drain-status', 'b1', '--watch'], { tty: true });
      expect(onTerminal.out).toContain('\r\x1b[2Kb1 [##############################] 100.0% 8/8');
      // Each copy went to the least utilised of b2 and b3 (equal quotas): none is left on b1, each sits on one of them.
      const placed = await rows<{ backend: string; n: string }>("SELECT backend, count(*) AS n FROM object_copies WHERE key LIKE 'cli/%' GROUP BY backend ORDER BY backend");
      expect(placed.map((r) => r.backend).every((b) => b === 'b2' || b === 'b3')).toBe(true);
      expect(placed.reduce((sum, r) => sum + Number(r.n), 0)).toBe(8);

      const jobs = await admin('jobs');
      expect(jobs.out).toMatch(new RegExp(`^${jobId}\\s+drain\\s+b1\\s+completed\\s+8\\s+0\\s+0\\s+0\\s`, 'm'));
      expect((await admin('jobs', '--state', 'running')).out).toBe('no jobs\n');
      const bad = await admin('jobs', '--state', 'bogus');
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('state: must be one of running, completed, cancelled, failed (HTTP 400)');
      const job = await admin('job', jobId);
      expect(job.out).toMatch(/^kind: +drain$/m);
      expect(job.out).toMatch(/^started by: +admin$/m);
    });

    it("shows where an object is and its life as a timeline", async () => {
      // Which of b2 and b3 the drain chose depends on how its concurrent moves interleaved: the output must agree with the records.
      const copies = await rows<{ backend: string }>("SELECT backend FROM object_copies WHERE bucket = 'alpha' AND key = 'cli/3'");
      expect(copies).toHaveLength(1);
      const target = copies[0]?.backend ?? '';
      expect(['b2', 'b3']).toContain(target);
      const where = await admin('object-locations', 'alpha/cli/3');
      expect(where.code).toBe(0);
      expect(where.out).toMatch(/^state: +current$/m);
      expect(where.out).toMatch(new RegExp(`^${target}\\s+\\S+ B\\s+alpha/cli/3~\\S+$`, 'm'));
      expect((await admin('object-locations', '--key', 'alpha/cli/3')).out).toBe(where.out);

      const history = await admin('history', 'alpha/cli/3');
      expect(history.code).toBe(0);
      const lines = history.out.split('\n');
      expect(lines[0]).toBe('alpha/cli/3: 2 events');
      expect(lines[2]).toMatch(/^TIME\s+ACTOR\s+REQUEST \/ JOB\s+WHAT HAPPENED$/);
      expect(lines[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+ALPHAKEY\s+[0-9A-F]{16}\s+written: 220 bytes to b1$/);
      expect(lines[4]).toMatch(new RegExp(`^\\S+ \\S+\\s+system:drain\\s+${jobId}\\s+copy moved b1 → ${target} \\(220 bytes\\) by job ${jobId}$`));
      expect((await admin('history', 'alpha/never')).code).toBe(1);
    });
  });

  describe('cancelling, cleanup, runtime', () => {
    it('refuses to remove a draining backend and cancels the drain (directly or through its job)', async () => {
      await recordExhaustedOrphan(stack.orchestrator, 'b3', 2048);
      expect((await admin('drain', 'b3')).code).toBe(0);
      expect((await admin('drain-status', 'b3')).out).toMatch(/^state: +draining \(drain running\)$/m);
      const remove = await admin('remove-backend', 'b3');
      expect(remove.code).toBe(1);
      expect(remove.err).toBe('error: backend b3 is draining; cancel the drain first (drain-cancel) (HTTP 409)\n');
      const cancel = await admin('drain-cancel', 'b3');
      expect(cancel.code).toBe(0);
      expect(cancel.out).toMatch(/^drain of b3 cancelled \(job \w+\); copies already moved stay moved; b3 takes writes again$/m);
      expect((await admin('drain-status', 'b3')).out).toContain('no drain is running on b3; it takes writes.');

      const again = await admin('drain', 'b3', '--json');
      const id = (JSON.parse(again.out) as { job_id: string }).job_id;
      const viaJob = await admin('job-cancel', id);
      expect(viaJob).toMatchObject({ code: 0, out: `job ${id} cancelled: drain of b3 stopped; b3 takes writes again\n` });
    });

    it('lists the cleanup queue, retries one item and dismisses another', async () => {
      // A move the cancelled drains had in flight leaves its target's bytes to the cleanup worker: let both settle.
      await expect.poll(() => stack.orchestrator.jobs.localJobs(), { timeout: 30_000 }).toEqual([]);
      await expect.poll(async () => (await admin('cleanup-queue')).out, { timeout: 30_000, interval: 250 }).toMatch(/^0 pending \(0 B\), 1 exhausted \(2\.0 KiB, still reserved\)$/m);
      const queue = await admin('cleanup-queue');
      const [item] = JSON.parse((await admin('cleanup-queue', '--state', 'exhausted', '--json')).out).items as { id: string }[];
      expect(queue.out).toMatch(new RegExp(`^${item?.id ?? 'x'}\\s+b3\\s+exhausted\\s+2\\.0 KiB\\s+test_fixture\\s+10\\s+-\\s+ghost/`, 'm'));
      const retried = await admin('cleanup-retry', item?.id ?? '');
      expect(retried).toMatchObject({ code: 0, out: `cleanup item ${item?.id ?? ''} (b3: ghost/${item?.id ?? ''}) will be retried now\n` });
      await expect.poll(async () => (await admin('cleanup-queue')).out, { timeout: 30_000, interval: 250 }).toBe('0 pending (0 B), 0 exhausted (0 B, still reserved)\n');

      const other = await recordExhaustedOrphan(stack.orchestrator, 'b3', 512);
      const dismissed = await admin('cleanup-dismiss', other);
      expect(dismissed.code).toBe(0);
      expect(dismissed.out).toBe(`cleanup item ${other} dismissed; 512 B stay on b3 as ghost/${other} and no longer count against its quota\n`);
      const gone = await admin('cleanup-dismiss', other);
      expect(gone.code).toBe(1);
      expect(gone.err).toContain('(HTTP 404)');
    });

    it('reads and sets the log level, and flushes usage', async () => {
      const before = (await admin('log-level')).out.trim().replace('log level: ', '');
      const set = await admin('log-level', '-set', 'error');
      expect(set).toMatchObject({ code: 0, out: `log level set to error (was ${before})\n` });
      expect((await admin('log-level')).out).toBe('log level: error\n');
      const bad = await admin('log-level', '--set', 'loud');
      expect(bad.code).toBe(1);
      expect(bad.err).toBe('error: level: must be one of debug, info, warn, error (HTTP 400)\n');
      const flushed = await admin('usage-flush');
      expect(flushed.code).toBe(0);
      expect(flushed.out).toMatch(/^usage flushed: [1-9]\d* backends? had unrecorded usage \(period \d{4}-\d\d\)$/m);
    });
  });

  describe('removing backends', () => {
    it('previews a purge without changing anything, then purges with --confirm: bytes and records gone', async () => {
      expect((await admin('backend-reactivate', 'b1')).out).toBe('b1 is active again and takes writes\n');
      await stack.orchestrator.services.backends.refresh(stack.db.pool);
      const s3 = stack.client();
      for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `purge/${i}`, Body: `to be purged ${i}` }));
      const b1 = stack.s3rvers[0] as S3rverInstance;
      expect((await keysOnBackend(b1, 'alpha/purge/')).length).toBe(3);

      const preview = await admin('remove-backend', 'b1', '--purge');
      expect(preview.code).toBe(0);
      expect(preview.out).toBe('purging b1 would delete 3 objects (42 B) from its storage and drop their records.\nNothing was changed. Run again with --purge --confirm to purge.\n');
      expect((await rows("SELECT 1 FROM object_copies WHERE backend = 'b1'")).length).toBe(3);
      expect((await keysOnBackend(b1, 'alpha/purge/')).length).toBe(3);

      const purged = await admin('remove-backend', 'b1', '--purge', '--confirm');
      expect(purged.err).toBe('');
      expect(purged.code).toBe(0);
      expect(purged.out).toMatch(/^purging b1: deleting 3 objects \(42 B\), job \w+$/m);
      expect(purged.out).toContain('b1 purged: 3 copies deleted from its storage and their records dropped.');
      expect(await keysOnBackend(b1, 'alpha/purge/')).toEqual([]);
      expect(await rows("SELECT 1 FROM object_copies WHERE backend = 'b1'")).toEqual([]);
      await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'purge/0' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    });

    it('removes a backend without purge: records gone, bytes left on its storage', async () => {
      const b2 = stack.s3rvers[1] as S3rverInstance;
      const before = await keysOnBackend(b2, 'alpha/cli/');
      const recorded = await rows<{ key: string }>("SELECT key FROM object_copies WHERE backend = 'b2'");
      expect(recorded.length).toBeGreaterThan(0);
      expect(before.length).toBe(recorded.filter((r) => r.key.startsWith('cli/')).length);
      const removed = await admin('remove-backend', 'b2');
      expect(removed.err).toBe('');
      expect(removed.code).toBe(0);
      expect(removed.out).toMatch(/^b2 no longer takes writes; dropping its records \(job \w+\); its bytes stay on its storage$/m);
      expect(removed.out).toContain(`b2 removed: ${recorded.length} copies' records dropped; the bytes are still on its storage.`);
      expect(await rows("SELECT 1 FROM object_copies WHERE backend = 'b2'")).toEqual([]);
      expect((await keysOnBackend(b2, 'alpha/cli/')).sort()).toEqual(before.sort());

      const status = await admin('status');
      expect(status.out).toMatch(/^b1\s+purged\s+yes\s/m);
      expect(status.out).toMatch(/^b2\s+removed\s+yes\s/m);
      expect(status.out).toContain('note: b2: removed but still in the configuration: it takes no writes');
    });
  });
});
