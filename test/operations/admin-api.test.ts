import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOnBackend, recordExhaustedOrphan, registerUnconfiguredBackend } from '../support/admin-fixtures.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { bucketStatsProjection } from '../../projections/async/bucket-stats/bucket-stats.js';
import { projectionStatuses } from '../../projections/async/runner.js';
import type { S3rverInstance } from '../support/s3rver.js';

const token = 't0k3n';
/**
 * s3rver answers concurrent deletes under one prefix with 500s (it prunes empty directories
 * racily), which would leave purge items waiting a minute for their retry: clean one at a time.
 * Usage is flushed only on demand here, so a flush finds the counts the test made.
 */
const adminYaml = [`ui:\n  admin_token: ${token}`, 'cleanup_queue:\n  concurrency: 1', 'usage_flush:\n  interval: 1h\n  fast_interval: 30m'].join('\n');

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: string; code?: string; field?: string };
  headers: Headers;
}

async function call(stack: TestStack, method: string, path: string, opts: { token?: string | null; body?: string; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const t = opts.token === undefined ? token : opts.token;
  if (t !== null) headers['x-admin-token'] = t;
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${stack.url}/admin/api/${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

const rows = async <T>(stack: TestStack, sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];

async function waitForJob(stack: TestStack, jobId: string): Promise<Answer['body']> {
  await expect.poll(async () => (await call(stack, 'GET', `jobs/${jobId}`)).body.state, { timeout: 60_000, interval: 250 }).not.toBe('running');
  return (await call(stack, 'GET', `jobs/${jobId}`)).body;
}

describe('admin API without a token configured', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.stop());

  it('answers 404 and says how to enable it, whatever token is sent', async () => {
    for (const t of [null, 'anything']) {
      const r = await call(stack, 'GET', 'status', { token: t });
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: 'the admin API is disabled: set ui.admin_token', code: 'NotFound' });
    }
  });
});

describe('admin API', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({
      backends: [{ quota: 50_000_000 }, { quota: 50_000_000 }, { quota: 50_000_000 }],
      extraYaml: adminYaml,
    });
  });
  afterAll(async () => stack?.stop());

  describe('authentication and errors', () => {
    it('refuses a missing, wrong or wrong-length token with 401', async () => {
      for (const t of [null, 'wrong', 't0k3n-longer', 'T0K3N', '']) {
        const r = await call(stack, 'GET', 'status', { token: t });
        expect(r.status, `token ${String(t)}`).toBe(401);
        expect(r.body).toEqual({ error: 'unauthorized', code: 'Unauthorized' });
      }
      const denied = await call(stack, 'POST', 'backends/b1/drain', { token: 'wrong' });
      expect(denied.status).toBe(401);
      expect((await call(stack, 'GET', 'backends/b1/drain')).body.state).toBe('active');
    });

    it('answers an unknown endpoint with a JSON 404, not the S3 API', async () => {
      const r = await call(stack, 'GET', 'no-such-thing');
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('NotFound');
      expect(r.headers.get('content-type')).toContain('application/json');
    });

    it('names the offending field of a bad input', async () => {
      const jobs = await call(stack, 'GET', 'jobs?state=bogus');
      expect(jobs.status).toBe(400);
      expect(jobs.body).toMatchObject({ code: 'ValidationFailed', field: 'state' });
      expect(jobs.body.error).toMatch(/^state: must be one of running/);
      const level = await call(stack, 'PUT', 'log-level', { json: { level: 'verbose' } });
      expect(level.status).toBe(400);
      expect(level.body).toMatchObject({ code: 'ValidationFailed', field: 'level', error: 'level: must be one of debug, info, warn, error' });
      const notJson = await call(stack, 'PUT', 'log-level', { body: '{"level":' });
      expect(notJson.status).toBe(400);
      expect(notJson.body).toMatchObject({ code: 'ValidationFailed', field: 'body' });
      const missing = await call(stack, 'GET', 'objects/locations?key=x');
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ field: 'bucket', error: 'bucket: is required' });
      const internal = await call(stack, 'GET', 'object-locations?key=no-slash');
      expect(internal.body).toMatchObject({ field: 'key', error: 'key: must be <bucket>/<key>' });
      const confirmOnly = await call(stack, 'DELETE', 'backends/b1?confirm=abc');
      expect(confirmOnly.status).toBe(400);
      expect(confirmOnly.body.field).toBe('confirm');
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const r = await call(stack, 'PUT', 'log-level', { body: JSON.stringify({ level: 'info', pad: 'x'.repeat(1024 * 1024) }) });
      expect(r.status).toBe(413);
      expect(r.body.code).toBe('PayloadTooLarge');
    });

    it('reports an unknown backend or job with the catalogue status', async () => {
      expect((await call(stack, 'POST', 'backends/nope/drain')).body.code).toBe('NotFound');
      expect((await call(stack, 'GET', 'backends/nope/drain')).status).toBe(404);
      expect((await call(stack, 'GET', 'jobs/01NOPE')).status).toBe(404);
    });
  });

  describe('status', () => {
    it('shows every backend with its state, usage and limits, and the buckets', async () => {
      const s3 = stack.client();
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'status/one', Body: 'x'.repeat(1000) }));
      const r = await call(stack, 'GET', 'status');
      expect(r.status).toBe(200);
      expect(r.body.db_healthy).toBe(true);
      expect(r.body.usage_period).toMatch(/^\d{4}-\d{2}$/);
      const backends = r.body.backends as Record<string, unknown>[];
      expect(backends.map((b) => b.name)).toEqual(['b1', 'b2', 'b3']);
      expect(backends[0]).toMatchObject({
        name: 'b1', state: 'active', configured: true, endpoint: stack.s3rvers[0]?.endpoint, bytes_limit: 50_000_000,
        circuit_breaker: 'closed', drain_job_id: null, note: null,
      });
      expect(backends[0]?.bytes_used).toBeGreaterThanOrEqual(1000);
      expect(backends[0]?.object_count).toBeGreaterThanOrEqual(1);
      expect(backends[0]?.api_requests).toBeGreaterThanOrEqual(1);
      expect(backends[0]?.ingress_bytes).toBeGreaterThanOrEqual(1000);
      for (const k of ['orphan_bytes', 'pending_bytes', 'api_request_limit', 'egress_bytes', 'egress_byte_limit', 'ingress_byte_limit']) {
        expect(typeof backends[0]?.[k], k).toBe('number');
      }
      // bucket_stats is an async projection (it may trail the log): the status shows what it holds, 0 for a bucket it has not seen.
      // Compare once it has caught up, so the table cannot move between the status call and the read below.
      await expect.poll(async () => (await projectionStatuses(stack.db.pool, [bucketStatsProjection]))[0]?.lag, { timeout: 10_000, interval: 20 }).toBe(0);
      const settled = await call(stack, 'GET', 'status');
      const stats = await rows<{ bucket: string; object_count: string; total_bytes: string }>(stack, 'SELECT * FROM bucket_stats');
      const statOf = (name: string) => stats.find((x) => x.bucket === name);
      expect(settled.body.buckets).toEqual(['alpha', 'beta'].map((name) => ({
        name, object_count: Number(statOf(name)?.object_count ?? 0), total_bytes: Number(statOf(name)?.total_bytes ?? 0),
      })));
      expect(r.body.running_jobs).toEqual([]);
    });
  });

  describe('an object through writes, a drain and a delete', () => {
    let drainJob = '';
    /** Where the drain sent life/doc: the least utilised of b2 and b3 when its move started (moves run concurrently). */
    let docTarget = '';

    it('starts a drain (202), refuses a second one and a removal while it runs, and reports its progress', async () => {
      const s3 = stack.client();
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'life/doc', Body: 'first version' }));
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'life/doc', Body: 'second, longer version' }));
      for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `life/other-${i}`, Body: `body ${i}` }));
      const where = await call(stack, 'GET', 'objects/locations?bucket=alpha&key=life/doc');
      expect(where.status).toBe(200);
      expect(where.body).toMatchObject({ bucket: 'alpha', key: 'life/doc', exists: true, stream_revision: 1 });
      expect(where.body.version).toMatchObject({ size: 22, content_type: expect.any(String) });
      expect(where.body.copies).toEqual([{ backend: 'b1', storage_key: expect.stringMatching(/^alpha\/life\/doc~/), size: 22 }]);

      const started = await call(stack, 'POST', 'backends/b1/drain');
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ status: 'drain started', backend: 'b1', job_id: expect.any(String) });
      drainJob = started.body.job_id as string;
      const again = await call(stack, 'POST', 'backends/b1/drain');
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('Conflict');

      await expect.poll(async () => (await call(stack, 'GET', 'backends/b1/drain')).body.state, { timeout: 60_000, interval: 250 }).toBe('drained');
      const status = await call(stack, 'GET', 'backends/b1/drain');
      expect(status.body).toMatchObject({
        backend: 'b1', state: 'drained', active: false, job_id: drainJob, objects_remaining: 0, bytes_remaining: 0,
        skipped: 0, failures: 0, pending_cleanup: 0, exhausted_cleanup: 0, uploads: 0, eta_seconds: null, last_error: null,
      });
      expect(status.body.objects_moved).toBeGreaterThanOrEqual(7);
      expect(status.body.bytes_moved).toBeGreaterThan(0);
      for (const k of ['objects_dropped', 'objects_per_second', 'started_at', 'finished_at']) expect(status.body, k).toHaveProperty(k);

      const job = await call(stack, 'GET', `jobs/${drainJob}`);
      expect(job.body).toMatchObject({ job_id: drainJob, kind: 'drain', backend: 'b1', state: 'completed', actor: 'admin' });
      const completed = await call(stack, 'GET', 'jobs?state=completed');
      expect((completed.body.jobs as { job_id: string }[]).map((j) => j.job_id)).toContain(drainJob);
      expect((await call(stack, 'GET', 'jobs?state=running')).body.jobs).toEqual([]);
      const moved = await call(stack, 'GET', 'objects/locations?bucket=alpha&key=life/doc');
      expect(moved.body.copies).toEqual([{ backend: expect.stringMatching(/^b[23]$/), storage_key: expect.stringMatching(/^alpha\/life\/doc~/), size: 22 }]);
      docTarget = (moved.body.copies as { backend: string }[])[0]?.backend ?? '';
      const s = await call(stack, 'GET', 'status');
      expect((s.body.backends as { name: string; state: string; note: string | null }[])[0]).toMatchObject({
        name: 'b1', state: 'drained', note: expect.stringContaining('still in the configuration'),
      });
    });

    it("tells the object's whole life: written, overwritten, moved by the drain, deleted", async () => {
      await stack.client().send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'life/doc' }));
      const r = await call(stack, 'GET', 'objects/history?bucket=alpha&key=life/doc');
      expect(r.status).toBe(200);
      const events = r.body.events as { revision: number; type: string; at: string; actor: string; correlation_id: string; summary: string }[];
      expect(events.map((e) => e.type)).toEqual(['ObjectWritten', 'ObjectWritten', 'CopyMoved', 'ObjectDeleted']);
      expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
      expect(r.body).toMatchObject({ bucket: 'alpha', key: 'life/doc', stream_revision: 3, truncated: false });
      expect(events[0]).toMatchObject({ actor: 'ALPHAKEY', summary: 'written: 13 bytes to b1', correlation_id: expect.any(String) });
      expect(events[1]?.summary).toMatch(/^overwritten: 22 bytes to b1, replacing 13 bytes; the previous version \(13 bytes on b1\) queued for cleanup$/);
      expect(events[1]?.correlation_id).not.toBe(events[0]?.correlation_id);
      expect(events[2]).toMatchObject({ actor: 'system:drain', correlation_id: drainJob, summary: `copy moved b1 → ${docTarget} (22 bytes) by job ${drainJob}` });
      expect(events[3]).toMatchObject({ actor: 'ALPHAKEY', summary: `deleted by a client request (22 bytes); its bytes (22 bytes on ${docTarget}) queued for cleanup` });
      for (const e of events) expect(Number.isNaN(Date.parse(e.at))).toBe(false);

      const gone = await call(stack, 'GET', 'objects/locations?bucket=alpha&key=life/doc');
      expect(gone.body).toMatchObject({ exists: false, version: null, copies: [], stream_revision: 3 });
      const original = await call(stack, 'GET', 'object-locations?key=alpha/life/other-1');
      expect(original.body).toMatchObject({ bucket: 'alpha', key: 'life/other-1', exists: true, copies: [{ backend: expect.stringMatching(/^b[23]$/) }] });
      expect((await call(stack, 'GET', 'objects/history?bucket=alpha&key=never/written')).status).toBe(404);
    });
  });

  describe('cancelling a drain, and the cleanup queue', () => {
    it('keeps a drain running while an exhausted cleanup item is left, refuses to remove the backend, and cancels', async () => {
      const stuck = await recordExhaustedOrphan(stack.orchestrator, 'b3', 4096);
      const queue = await call(stack, 'GET', 'cleanup-queue?state=exhausted');
      expect(queue.body).toMatchObject({ exhausted: 1 });
      expect(queue.body.items).toEqual([expect.objectContaining({
        id: stuck, backend: 'b3', storage_key: `ghost/${stuck}`, size: 4096, reason: 'test_fixture', state: 'exhausted', attempts: 10,
        last_error: 'simulated: the backend refused ten times', next_retry_at: expect.any(String),
      })]);

      const started = await call(stack, 'POST', 'backends/b3/drain');
      expect(started.status).toBe(202);
      const status = await call(stack, 'GET', 'backends/b3/drain');
      expect(status.body).toMatchObject({ state: 'draining', active: true, exhausted_cleanup: 1 });
      const remove = await call(stack, 'DELETE', 'backends/b3');
      expect(remove.status).toBe(409);
      expect(remove.body.error).toContain('draining');
      const purge = await call(stack, 'DELETE', 'backends/b3?purge=true');
      expect(purge.body.status).toBe('confirmation required');
      const purgeNow = await call(stack, 'DELETE', `backends/b3?purge=true&confirm=${encodeURIComponent(purge.body.confirm_token as string)}`);
      expect(purgeNow.status).toBe(409);

      const cancelled = await call(stack, 'DELETE', 'backends/b3/drain');
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toEqual({ status: 'drain cancelled', backend: 'b3', job_id: started.body.job_id });
      expect((await call(stack, 'GET', `jobs/${started.body.job_id as string}`)).body.state).toBe('cancelled');
      expect((await call(stack, 'GET', 'backends/b3/drain')).body).toMatchObject({ state: 'active', active: false });
      expect((await call(stack, 'DELETE', 'backends/b3/drain')).status).toBe(409);
    });

    it('cancels a drain through its job, and refuses to cancel a finished job', async () => {
      const started = await call(stack, 'POST', 'backends/b3/drain');
      const jobId = started.body.job_id as string;
      const cancel = await call(stack, 'POST', `jobs/${jobId}/cancel`);
      expect(cancel.status).toBe(200);
      expect(cancel.body).toEqual({ status: 'job cancelled', job_id: jobId, kind: 'drain', backend: 'b3' });
      expect((await call(stack, 'GET', 'backends/b3/drain')).body.state).toBe('active');
      const again = await call(stack, 'POST', `jobs/${jobId}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error).toContain('cancelled, not running');
    });

    it('retries an item (it is then cleaned) and dismisses another (its bytes are no longer reserved)', async () => {
      const [first] = (await call(stack, 'GET', 'cleanup-queue?state=exhausted')).body.items as { id: string }[];
      const retried = await call(stack, 'POST', `cleanup-queue/${first?.id ?? ''}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ status: 'retry scheduled', id: first?.id, backend: 'b3' });
      await expect.poll(async () => (await call(stack, 'GET', 'cleanup-queue')).body.items, { timeout: 30_000, interval: 250 }).toEqual([]);
      const cleaned = await rows<{ type: string }>(stack, 'SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`cleanup-${first?.id ?? ''}`]);
      expect(cleaned.map((e) => e.type)).toEqual(['OrphanRecorded', 'CleanupExhausted', 'CleanupRetried', 'CleanupSucceeded']);

      const orphanBefore = async () => (await rows<{ n: string }>(stack, "SELECT orphan_bytes AS n FROM backend_usage WHERE backend = 'b3'"))[0]?.n;
      const base = Number(await orphanBefore());
      const second = await recordExhaustedOrphan(stack.orchestrator, 'b3', 777);
      expect(Number(await orphanBefore())).toBe(base + 777);
      const dismissed = await call(stack, 'POST', `cleanup-queue/${second}/dismiss`);
      expect(dismissed.body).toEqual({ status: 'dismissed', id: second, backend: 'b3', storage_key: `ghost/${second}`, size: 777 });
      expect(Number(await orphanBefore())).toBe(base);
      expect((await call(stack, 'GET', 'cleanup-queue')).body).toMatchObject({ depth: 0, exhausted: 0, items: [] });
      expect((await call(stack, 'POST', `cleanup-queue/${second}/dismiss`)).status).toBe(404);
      expect((await call(stack, 'POST', 'cleanup-queue/nope/retry')).status).toBe(404);
    });
  });

  describe('removing backends', () => {
    it('lists a backend gone from the configuration, refuses to drain or purge it, and removes its records', async () => {
      await registerUnconfiguredBackend(stack.orchestrator, 'old');
      const s = await call(stack, 'GET', 'status');
      expect((s.body.backends as Record<string, unknown>[]).find((b) => b.name === 'old')).toMatchObject({
        name: 'old', state: 'active', configured: false, endpoint: 'http://127.0.0.1:1', circuit_breaker: null, object_count: 0,
      });
      const drain = await call(stack, 'POST', 'backends/old/drain');
      expect(drain.status).toBe(409);
      expect(drain.body.error).toBe('backend old is not in the configuration: a drain could not read its copies. ' +
        'Put it back in the configuration and restart, or drop its records with "s3o admin remove-backend old" (its bytes stay)');
      const purge = await call(stack, 'DELETE', 'backends/old?purge=true');
      expect(purge.status).toBe(409);
      expect(purge.body.error).toContain('a purge could not delete its bytes');
      const removed = await call(stack, 'DELETE', 'backends/old');
      expect(removed.status).toBe(202);
      expect(await waitForJob(stack, removed.body.job_id as string)).toMatchObject({ kind: 'remove', state: 'completed' });
      const after = await call(stack, 'GET', 'status');
      expect((after.body.backends as Record<string, unknown>[]).find((b) => b.name === 'old')).toMatchObject({ state: 'removed', note: null });
    });

    it('removes a backend without purge: its records go, its bytes stay on its storage', async () => {
      const s3 = stack.client();
      const react = await call(stack, 'POST', 'backends/b1/reactivate');
      expect(react.body).toEqual({ status: 'backend reactivated', backend: 'b1' });
      await stack.orchestrator.services.backends.refresh(stack.db.pool);
      for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `keep/${i}`, Body: `kept bytes ${i}` }));
      expect((await rows(stack, "SELECT 1 FROM object_copies WHERE backend = 'b1' AND key LIKE 'keep/%'")).length).toBe(3);

      const removed = await call(stack, 'DELETE', 'backends/b1');
      expect(removed.status).toBe(202);
      expect(removed.body).toMatchObject({ status: 'backend removed', backend: 'b1', job_id: expect.any(String), purge: false });
      const job = await waitForJob(stack, removed.body.job_id as string);
      expect(job).toMatchObject({ kind: 'remove', state: 'completed', dropped: 3 });
      expect(await rows(stack, "SELECT 1 FROM object_copies WHERE backend = 'b1'")).toEqual([]);
      expect(await rows(stack, "SELECT 1 FROM objects WHERE key LIKE 'keep/%'")).toEqual([]);
      await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'keep/0' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
      expect((await keysOnBackend(stack.s3rvers[0] as S3rverInstance, 'alpha/keep/')).length).toBe(3);
      const s = await call(stack, 'GET', 'status');
      expect((s.body.backends as { name: string; state: string }[])[0]).toMatchObject({ name: 'b1', state: 'removed' });
      expect((await call(stack, 'DELETE', 'backends/b1')).status).toBe(409);
    });

    it('previews a purge, refuses a bad token with 403, then deletes the bytes and the records', async () => {
      const onB2 = await rows<{ key: string }>(stack, "SELECT key FROM object_copies WHERE backend = 'b2'");
      // The drain of b1 sent b2 at least its first copy (b2 and b3 were both empty: configuration order decides).
      expect(onB2.length).toBeGreaterThanOrEqual(1);
      const bytes = await keysOnBackend(stack.s3rvers[1] as S3rverInstance, 'alpha/');
      expect(bytes.length).toBeGreaterThanOrEqual(onB2.length);

      const preview = await call(stack, 'DELETE', 'backends/b2?purge=true');
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        status: 'confirmation required', backend: 'b2', object_count: onB2.length, total_bytes: expect.any(Number),
        confirm_token: expect.any(String), expires_in: 60,
      });
      expect((await rows(stack, "SELECT 1 FROM object_copies WHERE backend = 'b2'")).length).toBe(onB2.length);
      const bad = await call(stack, 'DELETE', 'backends/b2?purge=true&confirm=not-a-token');
      expect(bad.status).toBe(403);
      expect(bad.body).toEqual({ error: 'invalid or expired confirmation token', code: 'AccessDenied' });
      const other = await call(stack, 'DELETE', 'backends/b3?purge=true');
      const crossed = await call(stack, 'DELETE', `backends/b2?purge=true&confirm=${encodeURIComponent(other.body.confirm_token as string)}`);
      expect(crossed.status).toBe(403);

      const purged = await call(stack, 'DELETE', `backends/b2?purge=true&confirm=${encodeURIComponent(preview.body.confirm_token as string)}`);
      expect(purged.status).toBe(202);
      expect(purged.body).toMatchObject({ status: 'purge started', backend: 'b2', purge: true });
      const job = await waitForJob(stack, purged.body.job_id as string);
      expect(job).toMatchObject({ kind: 'purge', state: 'completed' });
      expect(await rows(stack, "SELECT 1 FROM object_copies WHERE backend = 'b2'")).toEqual([]);
      expect(await keysOnBackend(stack.s3rvers[1] as S3rverInstance, 'alpha/')).toEqual([]);
      const s = await call(stack, 'GET', 'status');
      expect((s.body.backends as { name: string; state: string }[])[1]).toMatchObject({ name: 'b2', state: 'purged' });
    });
  });

  describe('runtime', () => {
    it('reads and sets the log level', async () => {
      const before = await call(stack, 'GET', 'log-level');
      expect(before.body).toEqual({ level: stack.orchestrator.services.logger.level });
      const set = await call(stack, 'PUT', 'log-level', { json: { level: 'error' } });
      expect(set.body).toEqual({ level: 'error', previous: before.body.level });
      expect(stack.orchestrator.services.logger.level).toBe('error');
      expect((await call(stack, 'GET', 'log-level')).body).toEqual({ level: 'error' });
    });

    it('flushes usage on demand', async () => {
      await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: 'usage/x', Body: 'metered' }));
      const requests = async () => ((await call(stack, 'GET', 'status')).body.backends as { api_requests: number }[]).reduce((n, b) => n + b.api_requests, 0);
      const before = await requests();
      const r = await call(stack, 'POST', 'usage-flush');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'flushed', usage_period: expect.stringMatching(/^\d{4}-\d{2}$/) });
      expect(r.body.backends).toBeGreaterThanOrEqual(1);
      expect((await rows(stack, "SELECT 1 FROM events WHERE type = 'UsageFlushed'")).length).toBeGreaterThanOrEqual(1);
      // Flushed counts still count: the monthly totals the status shows do not drop.
      expect(await requests()).toBeGreaterThanOrEqual(before);
    });

    it('reports projections and their lag', async () => {
      const r = await call(stack, 'GET', 'projections');
      expect((r.body.inline as { name: string }[]).map((p) => p.name)).toContain('locations');
      expect(r.body.async).toEqual(expect.arrayContaining([
        expect.objectContaining({ name: 'bucket_stats', lag: expect.any(Number), status: 'active' }),
        expect.objectContaining({ name: 'usage_monthly', lag: expect.any(Number) }),
      ]));
    });
  });

  describe('audit trail', () => {
    it('records every command with actor admin and the request id, and no secret anywhere in the log', async () => {
      const audit = await rows<{ data: { command: string; args: Record<string, unknown>; remoteAddress: string }; metadata: { actor: string; correlationId: string } }>(
        stack, "SELECT data, metadata FROM events WHERE stream_id = 'admin' ORDER BY revision",
      );
      const commands = audit.map((e) => e.data.command);
      for (const c of ['drain', 'drain-cancel', 'job-cancel', 'cleanup-retry', 'cleanup-dismiss', 'backend-reactivate', 'remove-backend', 'remove-backend-purge', 'log-level', 'usage-flush']) {
        expect(commands, c).toContain(c);
      }
      for (const e of audit) {
        expect(e.metadata.actor).toBe('admin');
        expect(e.metadata.correlationId).toMatch(/^[0-9A-F]{16}$/);
        expect(e.data.remoteAddress).toBe('127.0.0.1');
      }
      // Recorded before it runs, so refused attempts are on record too: the purge of draining b3,
      // the two with a bad token, then the real one. Previews are not commands.
      expect(audit.filter((e) => e.data.command === 'remove-backend-purge').map((e) => e.data.args)).toEqual([
        { backend: 'b3', purge: true }, { backend: 'b2', purge: true }, { backend: 'b2', purge: true }, { backend: 'b2', purge: true },
      ]);
      const drainJob = await rows<{ metadata: { actor: string; correlationId: string } }>(
        stack, "SELECT metadata FROM events WHERE type = 'BackendDrainStarted' AND stream_id = 'backend-b1'",
      );
      expect(audit.map((e) => e.metadata.correlationId)).toContain(drainJob[0]?.metadata.correlationId);
      const leaks = await rows(stack, 'SELECT 1 FROM events WHERE data::text LIKE $1 OR metadata::text LIKE $1', [`%${token}%`]);
      expect(leaks).toEqual([]);
      const tokens = await rows(stack, "SELECT 1 FROM events WHERE stream_id = 'admin' AND data::text ~ '[A-Za-z0-9_-]{20,}\\.[A-Za-z0-9_-]{20,}'");
      expect(tokens).toEqual([]);
    });
  });
});
