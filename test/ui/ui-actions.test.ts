import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import type { InjectOptions } from 'fastify';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { cleanupStreamId } from '../../services/cleanup/reclaimer.js';
import { createEventFactory } from '../../services/event-factory.js';
import { putOnBackend } from '../support/backend-objects.js';
import type { TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';
import { csrfOf, login, sessionCookieOf, startUiStack, uiYaml } from './ui-stack.js';

/**
 * Every dashboard action through fastify inject, on a real orchestrator and s3rver: without the
 * CSRF token it is refused and nothing happens; with it, its effect is there and the command is
 * on record as AdminCommandIssued with `via: dashboard`.
 */
const settings = (factor: number) => [
  `replication:\n  factor: ${factor}\n  worker_interval: 1h`,
  // Only the dashboard starts a rebalance here.
  'rebalance:\n  enabled: false\n  strategy: spread\n  threshold: 0.01',
  'routing_strategy: pack',
].join('\n');

let stack: TestStack;
let session: { cookie: string; csrf: string };
const inject = (opts: InjectOptions) => stack.orchestrator.app.inject(opts);
const text = async (bucket: string, key: string) => {
  const res = await stack.client(bucket).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body?.transformToString();
};
const copies = async (backend: string) =>
  Number((await stack.db.pool.query('SELECT count(*) AS n FROM object_copies WHERE backend = $1', [backend])).rows[0].n);
const state = async (backend: string) => (await stack.db.pool.query('SELECT state FROM backend_state WHERE backend = $1', [backend])).rows[0]?.state;

/** The dashboard commands on record, oldest first. */
async function recorded(command: string): Promise<Record<string, unknown>[]> {
  const rows = await stack.db.pool.query<{ args: Record<string, unknown> }>(
    "SELECT data->'args' AS args FROM events WHERE stream_id = 'admin' AND data->>'command' = $1 ORDER BY revision", [command]);
  return rows.rows.map((r) => r.args);
}

async function signIn(): Promise<void> {
  const res = await login(stack, { ip: '10.0.9.1' });
  expect(res.statusCode).toBe(303);
  const cookie = sessionCookieOf(res);
  session = { cookie, csrf: csrfOf((await inject({ method: 'GET', url: '/ui/backends', headers: { cookie } })).body) };
}

/** Posts an action's form; answers the status and the message the page it leads to shows. */
async function act(name: string, fields: Record<string, string>, csrf = true): Promise<{ status: number; flash?: string }> {
  const res = await inject({
    method: 'POST', url: `/ui/actions/${name}`, remoteAddress: '10.0.9.1',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(csrf ? { _csrf: session.csrf, ...fields } : fields).toString(),
  });
  if (res.statusCode !== 303) return { status: res.statusCode };
  const next = await inject({ method: 'GET', url: String(res.headers.location), headers: { cookie: session.cookie } });
  const flash = /<p class="flash flash-(ok|error)" role="status">([^<]*)<\/p>/.exec(next.body);
  return { status: 303, flash: flash ? `${flash[1]}: ${flash[2]}` : undefined };
}

/** Refused without the token (403), and not even recorded. */
async function expectCsrfRequired(name: string, fields: Record<string, string>, command: string): Promise<void> {
  const before = (await recorded(command)).length;
  expect((await act(name, fields, false)).status).toBe(403);
  expect(await recorded(command)).toHaveLength(before);
}

async function waitForJob(jobId: string): Promise<void> {
  await expect.poll(async () => (await stack.db.pool.query('SELECT state FROM jobs WHERE job_id = $1', [jobId])).rows[0]?.state, { timeout: 60_000, interval: 200 })
    .toBe('completed');
}

beforeAll(async () => {
  stack = await startUiStack([{ quota: 1_000_000 }, { quota: 1_000_000 }], settings(1));
  await signIn();
});
afterAll(async () => stack?.stop());

describe('dashboard actions (each: CSRF required, its effect, on record via the dashboard)', () => {
  test('upload: the file is stored through the S3 write path', async () => {
    const upload = async (withToken: boolean) => {
      const body = new FormData();
      if (withToken) body.append('_csrf', session.csrf);
      body.append('bucket', 'alpha');
      body.append('prefix', 'up/');
      body.append('file', new Blob(['uploaded from the dashboard']), 'hello.txt');
      const req = new Request('http://x/', { method: 'POST', body });
      return inject({
        method: 'POST', url: '/ui/actions/upload', remoteAddress: '10.0.9.1',
        headers: { cookie: session.cookie, 'content-type': req.headers.get('content-type') as string }, payload: Buffer.from(await req.arrayBuffer()),
      });
    };
    expect((await upload(false)).statusCode).toBe(403);
    await expect(text('alpha', 'up/hello.txt')).rejects.toBeInstanceOf(NoSuchKey);
    expect(await recorded('upload')).toEqual([]);

    const res = await upload(true);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ui/objects?bucket=alpha&prefix=up%2F');
    expect(await text('alpha', 'up/hello.txt')).toBe('uploaded from the dashboard');
    expect(await recorded('upload')).toEqual([{ bucket: 'alpha', key: 'up/hello.txt', via: 'dashboard' }]);
  });

  test('download: the object\'s bytes as an attachment, for a signed-in session only (a read, not a command)', async () => {
    const url = '/ui/objects/download?bucket=alpha&key=up%2Fhello.txt';
    const anonymous = await inject({ method: 'GET', url });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/ui\/login\?next=/);
    const res = await inject({ method: 'GET', url, headers: { cookie: session.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('uploaded from the dashboard');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="hello.txt"; filename*=UTF-8''hello.txt`);
    expect(await recorded('download')).toEqual([]);
  });

  test('delete: the object is gone', async () => {
    const fields = { bucket: 'alpha', key: 'up/hello.txt' };
    await expectCsrfRequired('delete', fields, 'delete');
    expect(await text('alpha', 'up/hello.txt')).toBe('uploaded from the dashboard');
    expect(await act('delete', fields)).toEqual({ status: 303, flash: 'ok: Deleted alpha/up/hello.txt.' });
    await expect(text('alpha', 'up/hello.txt')).rejects.toBeInstanceOf(NoSuchKey);
    expect(await recorded('delete')).toEqual([{ ...fields, via: 'dashboard' }]);
  });

  test('start and cancel a drain: b1\'s copies move to b2, then it takes writes again', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 6; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `moved/${i}`, Body: Buffer.alloc(2000, i) }));
    expect(await copies('b1')).toBe(6);
    // An orphan whose cleanup gave up keeps the drain from finishing: it stays cancellable.
    const id = ulid();
    const cause = { actor: 'test:fixture' };
    const events = createEventFactory('ui-actions-test');
    await new PostgresEventStore(stack.db.pool).appendToStream(cleanupStreamId(id), [
      events.event('OrphanRecorded', { backend: 'b1', storageKey: `ghost/${id}`, size: 100, reason: 'test_fixture', kind: 'object' }, cause),
      events.event('CleanupExhausted', { attempt: 10, error: 'simulated: the backend refused ten times' }, cause),
    ], { expected: 'no_stream' });

    await expectCsrfRequired('drain', { backend: 'b1' }, 'drain');
    expect(await state('b1')).toBe('active');
    const started = await act('drain', { backend: 'b1' });
    expect(started.flash).toMatch(/^ok: Drain of b1 started \(job \w+\)\.$/);
    expect(await state('b1')).toBe('draining');
    await expect.poll(() => copies('b1'), { timeout: 60_000, interval: 200 }).toBe(0);
    expect(await copies('b2')).toBe(6);
    expect(await recorded('drain')).toEqual([{ backend: 'b1', via: 'dashboard' }]);

    await expectCsrfRequired('drain-cancel', { backend: 'b1' }, 'drain-cancel');
    expect(await state('b1')).toBe('draining');
    expect((await act('drain-cancel', { backend: 'b1' })).flash).toMatch(/^ok: Drain of b1 cancelled \(job \w+\); it takes writes again\.$/);
    expect(await state('b1')).toBe('active');
    expect(await recorded('drain-cancel')).toEqual([{ backend: 'b1', via: 'dashboard' }]);
  });

  test('rebalance: a job moves copies onto the emptied b1', async () => {
    await expectCsrfRequired('rebalance', {}, 'rebalance');
    expect(await copies('b1')).toBe(0);
    // The drained copies' sources occupy b1 until the cleanup worker has deleted them; with one of
    // them left the spread is below the threshold. Only the orphan whose cleanup gave up stays.
    const orphanBytes = async () => Number((await stack.db.pool.query("SELECT orphan_bytes FROM backend_usage WHERE backend = 'b1'")).rows[0]?.orphan_bytes);
    await expect.poll(orphanBytes, { timeout: 60_000, interval: 100 }).toBe(100);
    const res = await act('rebalance', {});
    const m = /^ok: Rebalance started \(job (\w+)\): ([1-9]\d*) moves planned\.$/.exec(res.flash ?? '');
    expect(m, res.flash).not.toBeNull();
    await waitForJob(m?.[1] as string);
    expect(await copies('b1')).toBe(Number(m?.[2]));
    expect(await copies('b1') + await copies('b2')).toBe(6);
    expect(await recorded('rebalance')).toEqual([{ via: 'dashboard' }]);
  });

  test('sync: an object put straight onto b2 is imported into a bucket and readable', async () => {
    const b2 = stack.s3rvers[1] as S3rverInstance;
    await putOnBackend(b2, 'found/on-b2.txt', 'bytes the log did not know');
    await expect(text('beta', 'found/on-b2.txt')).rejects.toBeInstanceOf(NoSuchKey);
    const fields = { backend: 'b2', bucket: 'beta', prefix: 'found/' };
    await expectCsrfRequired('sync', fields, 'sync');
    await expect(text('beta', 'found/on-b2.txt')).rejects.toBeInstanceOf(NoSuchKey);
    const res = await act('sync', fields);
    expect(res.flash).toMatch(/^ok: Sync of b2 into beta: scanned 1; imported 1 \(26 bytes\); orphans 0 \(0 bytes\); failed 0; skipped: none\.$/);
    expect(await text('beta', 'found/on-b2.txt')).toBe('bytes the log did not know');
    expect(await recorded('sync')).toEqual([{ ...fields, via: 'dashboard' }]);
    // An unknown backend is refused with the reason.
    expect((await act('sync', { backend: 'nope', bucket: 'beta' })).flash).toBe('error: no backend named nope is configured');
  });

  test('api/backends: the figures the backends page moves without a reload follow a write', async () => {
    expect((await inject({ method: 'GET', url: '/ui/api/backends' })).statusCode).toBe(401);
    const figures = async () => {
      const res = await inject({ method: 'GET', url: '/ui/api/backends', headers: { cookie: session.cookie } });
      expect(res.statusCode).toBe(200);
      return (res.json() as { backends: { name: string; bytes_used: number; used_text: string; copies_text: string; state: string }[] }).backends;
    };
    const before = await figures();
    expect(before.map((b) => [b.name, b.state])).toEqual([['b1', 'active'], ['b2', 'active']]);
    for (const b of before) expect(b.used_text).toMatch(/ of 977 KiB$/);
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: 'live/figure', Body: Buffer.alloc(50_000, 1) }));
    const after = await figures();
    const grew = after.filter((b, i) => b.bytes_used === (before[i]?.bytes_used ?? 0) + 50_000);
    expect(grew).toHaveLength(1);
    const target = grew[0] as (typeof after)[number];
    expect(target.used_text).not.toBe(before.find((b) => b.name === target.name)?.used_text);
    expect(target.copies_text).not.toBe(before.find((b) => b.name === target.name)?.copies_text);
    // The page renders the very same words, in the elements dashboard.js rewrites.
    const page = (await inject({ method: 'GET', url: '/ui/backends', headers: { cookie: session.cookie } })).body;
    expect(page).toContain(`<span class="figures" data-backend-text="quota">${target.used_text}</span>`);
    expect(page).toContain(`<p data-backend-text="copies">${target.copies_text}</p>`);
    await stack.client().send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'live/figure' }));
  });

  test('replicate and clean excess copies: a second copy of every object, then back to one after the factor is lowered', async () => {
    await stack.restart(`${uiYaml()}\n${settings(2)}`);
    await signIn();
    await expectCsrfRequired('replicate', {}, 'replicate');
    const objects = 7;
    const copiesNow = async () => (await copies('b1')) + (await copies('b2'));
    // The startup pass may have made some of them already (the action waits for it); the action makes the rest.
    const res = await act('replicate', {});
    expect(res.flash).toMatch(/^ok: Replication pass done: \d+ copies created, 0 objects still short\.$/);
    expect(await copiesNow()).toBe(2 * objects);
    expect(await recorded('replicate')).toEqual([{ via: 'dashboard' }]);

    await stack.restart(`${uiYaml()}\n${settings(1)}`);
    await signIn();
    await expectCsrfRequired('clean-excess', {}, 'over-replication');
    expect(await copiesNow()).toBe(2 * objects);
    expect((await act('clean-excess', {})).flash).toBe(`ok: Removed ${objects} excess copies.`);
    expect(await copiesNow()).toBe(objects);
    expect(await recorded('over-replication')).toEqual([{ via: 'dashboard' }]);
  });
});
