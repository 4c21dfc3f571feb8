import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { syncCommand } from '../../ops/cli/sync-command.js';
import { Leases, type Lease } from '../../processes/leases.js';
import { expectStorageInvariants, listBackend, putOnBackend } from '../support/backend-objects.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, signedRequest } from '../support/s3-e2e.js';
import type { S3rverInstance } from '../support/s3rver.js';

const hour = 60 * 60 * 1000;
/** Our own keys are left alone for an hour (a write may not have committed yet); these runs look from two hours on. */
const later = () => new Date(Date.now() + 2 * hour);

describe('sync and reconcile', () => {
  let stack: TestStack;
  let s3: S3Client;
  let b1: S3rverInstance;
  let b2: S3rverInstance;
  let dir: string;
  let configFile: string;

  // Keys put straight onto b1, bypassing the orchestrator.
  const foreign = { 'photos/a.jpg': 'jpeg bytes', 'photos/b.txt': 'bee', 'docs/c.txt': 'document c' } as Record<string, string>;
  const recovered = `alpha/recovered.txt~${ulid(Date.now() - 60_000)}`;
  const otherBucket = `beta/other.txt~${ulid()}`;
  const pendingKey = `alpha/pending.txt~${ulid()}`;
  const temporary = '__multipart/abc/1';
  let deletedVersion: string;
  let uncommitted: string;
  let usedBefore: number;
  // This file stands for another instance holding the cleanup worker's lease until the cleanup
  // test: the queued orphan stays queued (as the dry run and the import must find it) instead of
  // going whenever the orchestrator's cleanup worker happens to run.
  let cleanupLeases: Leases;
  let cleanupLease: Lease | undefined;
  const releaseCleanup = async () => {
    if (cleanupLease) await cleanupLeases.release(cleanupLease);
    cleanupLease = undefined;
  };

  async function sync(args: string[], now = new Date()): Promise<{ code: number; out: string[] }> {
    const out: string[] = [];
    const code = await syncCommand([...args, '--config', configFile], { out: (l) => out.push(l), err: (l) => out.push(`! ${l}`), now: () => now });
    return { code, out };
  }
  const imports = (out: string[]) => out.filter((l) => /^(would import|imported) /.test(l)).sort();
  const orphans = (out: string[]) => out.filter((l) => /^(would record|recorded) /.test(l)).sort();
  const used = async (backend: string) => Number((await stack.db.pool.query('SELECT bytes_used FROM backend_usage WHERE backend = $1', [backend])).rows[0].bytes_used);
  async function writes(): Promise<unknown> {
    const r = await stack.db.pool.query(`SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM leases) AS leases,
      (SELECT count(*) FROM cleanup_queue) AS queue, (SELECT count(*) FROM objects) AS objects, (SELECT sum(bytes_used) FROM backend_usage) AS used`);
    return r.rows[0];
  }
  async function keys(bucket: string): Promise<string[]> {
    const page = await stack.client(bucket).send(new ListObjectsV2Command({ Bucket: bucket }));
    return (page.Contents ?? []).map((o) => o.Key as string);
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 10_000_000 }, { quota: 10_000_000 }] });
    s3 = stack.client();
    cleanupLeases = new Leases(stack.db.pool, 'test:sync-reconcile', 30 * 60_000);
    // Free once the orchestrator's cleanup worker ends a pass it may have started.
    await vi.waitFor(async () => expect(cleanupLease = await cleanupLeases.tryAcquire('worker:cleanup')).toBeDefined(), { timeout: 30_000, interval: 50 });
    [b1, b2] = stack.s3rvers as [S3rverInstance, S3rverInstance];
    dir = await mkdtemp(join(tmpdir(), 's3o-sync-'));
    const url = new URL(stack.db.url);
    const database = [
      'database:', '  driver: postgres', `  host: ${url.hostname}`, `  port: ${url.port || 5432}`,
      `  database: ${url.pathname.slice(1)}`, `  user: ${decodeURIComponent(url.username)}`,
      ...(url.password ? [`  password: "${decodeURIComponent(url.password)}"`] : []), '  ssl_mode: disable',
    ].join('\n');
    configFile = join(dir, 'config.yaml');
    await writeFile(configFile, stack.yaml(database));

    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'live.txt', Body: 'live' }));
    // A version deleted through the gateway whose bytes came back (a lost cleanup): must stay deleted.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'deleted.txt', Body: 'gone!' }));
    deletedVersion = (await stack.db.pool.query("SELECT storage_key FROM object_copies WHERE key = 'deleted.txt'")).rows[0].storage_key;
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'deleted.txt' }));
    await stack.orchestrator.services.reclaimer.drain();
    expect(await listBackend(b1)).not.toContain(deletedVersion);
    await putOnBackend(b1, deletedVersion, 'gone!');
    // A newer version of a committed key that never committed: never imported over it.
    uncommitted = `alpha/live.txt~${ulid()}`;
    await putOnBackend(b1, uncommitted, 'newer, uncommitted');
    // An orphan already queued for cleanup.
    await putOnBackend(b1, pendingKey, 'pending');
    await stack.orchestrator.services.orphans.record('b1', pendingKey, 7, 'test', { actor: 'test' }, { reclaimNow: false });
    await putOnBackend(b1, recovered, 'recovered body');
    await putOnBackend(b1, otherBucket, 'other bucket');
    await putOnBackend(b1, temporary, 'part');
    for (const [key, body] of Object.entries(foreign)) await putOnBackend(b1, key, body, key.endsWith('.jpg') ? 'image/jpeg' : undefined);
    usedBefore = await used('b1');
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints what it would import and writes nothing', async () => {
    // The orchestrator's workers write on their own schedules (usage flushes, cleanup passes):
    // with it stopped, any write between the two snapshots is the dry run's.
    await stack.orchestrator.stop();
    const before = await writes();
    const now = await sync(['--backend', 'b1', '--bucket', 'alpha', '--dry-run']);
    expect(now.code).toBe(0);
    // Our own keys are all younger than an hour: left alone.
    expect(imports(now.out)).toEqual([
      'would import b1:docs/c.txt as alpha/docs/c.txt (10 bytes)',
      'would import b1:photos/a.jpg as alpha/photos/a.jpg (10 bytes)',
      'would import b1:photos/b.txt as alpha/photos/b.txt (3 bytes)',
    ]);
    expect(orphans(now.out)).toEqual([]);
    const afterHour = await sync(['--backend', 'b1', '--bucket', 'alpha', '--dry-run'], later());
    expect(imports(afterHour.out)).toEqual([
      'would import b1:docs/c.txt as alpha/docs/c.txt (10 bytes)',
      'would import b1:photos/a.jpg as alpha/photos/a.jpg (10 bytes)',
      'would import b1:photos/b.txt as alpha/photos/b.txt (3 bytes)',
      `would import b1:${recovered} as alpha/recovered.txt (14 bytes)`,
    ].sort());
    expect(orphans(afterHour.out)).toEqual([
      `would record b1:${deletedVersion} for cleanup: an untracked version of alpha/deleted.txt (5 bytes)`,
      `would record b1:${uncommitted} for cleanup: an untracked version of alpha/live.txt (18 bytes)`,
    ].sort());
    expect(await writes()).toEqual(before);
    await stack.restart();
    s3 = stack.client();
  });

  it('imports a prefix, then the rest; foreign keys keep their backend key as storage key', async () => {
    const photos = await sync(['--backend', 'b1', '--bucket', 'alpha', '--prefix', 'photos/'], later());
    expect(photos.code).toBe(0);
    expect(imports(photos.out)).toEqual([
      'imported b1:photos/a.jpg as alpha/photos/a.jpg (10 bytes)',
      'imported b1:photos/b.txt as alpha/photos/b.txt (3 bytes)',
    ]);
    const rest = await sync(['--backend', 'b1', '--bucket', 'alpha'], later());
    expect(rest.code).toBe(0);
    expect(imports(rest.out)).toEqual([
      'imported b1:docs/c.txt as alpha/docs/c.txt (10 bytes)',
      `imported b1:${recovered} as alpha/recovered.txt (14 bytes)`,
    ].sort());
    expect(orphans(rest.out)).toHaveLength(2);

    expect((await keys('alpha')).sort()).toEqual(['docs/c.txt', 'live.txt', 'photos/a.jpg', 'photos/b.txt', 'recovered.txt']);
    const jpeg = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'photos/a.jpg' }));
    expect(jpeg.ContentType).toBe('image/jpeg');
    expect(await jpeg.Body?.transformToString()).toBe('jpeg bytes');
    const live = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'live.txt' }));
    expect(await live.Body?.transformToString()).toBe('live');
    const copies = await stack.db.pool.query("SELECT key, storage_key FROM object_copies WHERE bucket = 'alpha' AND key LIKE 'photos/%' ORDER BY key");
    expect(copies.rows).toEqual([{ key: 'photos/a.jpg', storage_key: 'photos/a.jpg' }, { key: 'photos/b.txt', storage_key: 'photos/b.txt' }]);
    const events = await stack.db.pool.query<{ origin: string; actor: string }>(
      `SELECT data->>'origin' AS origin, metadata->>'actor' AS actor FROM events WHERE type = 'ObjectWritten' AND data->>'origin' = 'import'`,
    );
    expect(events.rows).toEqual(Array(4).fill({ origin: 'import', actor: 'operator:sync' }));
    expect(await used('b1')).toBe(usedBefore + 10 + 3 + 10 + 14);
  });

  it('imports nothing the second time, and cleanup removes our orphans', async () => {
    const again = await sync(['--backend', 'b1', '--bucket', 'alpha'], later());
    expect(again.code).toBe(0);
    expect(imports(again.out)).toEqual([]);
    expect(orphans(again.out)).toEqual([]);
    await releaseCleanup();
    await expectStorageInvariants(stack, { untracked: { b1: [otherBucket, temporary] }, backends: ['b1'] });
    const gone = await listBackend(b1);
    for (const k of [deletedVersion, uncommitted, pendingKey]) expect(gone).not.toContain(k);
  });

  it('reconcile imports only keys of configured buckets, on every backend', async () => {
    await stack.restart('reconcile:\n  enabled: true\n  interval: 24h');
    const ownUnknown = `beta/k.txt~${ulid(Date.now() - 60_000)}`;
    const ownOtherBucket = `gamma/q~${ulid()}`;
    // Two versions of a key the log never heard of (a lost log): the newest is the key's data.
    const olderVersion = `beta/two.txt~${ulid(Date.now() - 120_000)}`;
    const newerVersion = `beta/two.txt~${ulid(Date.now() - 60_000)}`;
    const onB2: Record<string, string> = {
      'alpha/foreign-r.txt': 'reconciled', 'beta/sub/y.txt': 'why', 'gamma/z.txt': 'unknown bucket', 'loose.txt': 'no bucket',
      [ownUnknown]: 'own', [ownOtherBucket]: 'own, other bucket', [olderVersion]: 'old', [newerVersion]: 'newer',
    };
    for (const [key, body] of Object.entries(onB2)) await putOnBackend(b2, key, body);

    const report = await stack.orchestrator.workers.reconcile.runOnce(later());
    // b2: alpha/foreign-r.txt, beta/sub/y.txt, our beta/k.txt and beta/two.txt; b1: our beta/other.txt left by the sync.
    expect(report).toMatchObject({ imported: 5, importedBytes: 10 + 3 + 3 + 5 + 12, orphans: 1, orphanBytes: 3, failed: 0, failedBackends: [] });
    // gamma/z.txt, loose.txt (the original put it into the first bucket), our gamma/q.
    expect(report?.skipped).toMatchObject({ 'out-of-scope': 3, multipart: 1 });
    expect((await keys('alpha')).sort()).toEqual(['docs/c.txt', 'foreign-r.txt', 'live.txt', 'photos/a.jpg', 'photos/b.txt', 'recovered.txt']);
    expect((await keys('beta')).sort()).toEqual(['k.txt', 'other.txt', 'sub/y.txt', 'two.txt']);
    const two = await stack.client('beta').send(new GetObjectCommand({ Bucket: 'beta', Key: 'two.txt' }));
    expect(await two.Body?.transformToString()).toBe('newer');
    const actors = await stack.db.pool.query(`SELECT DISTINCT metadata->>'actor' AS actor FROM events
      WHERE type = 'ObjectWritten' AND data->>'origin' = 'import' AND (data->>'bucket' = 'beta' OR data->>'key' = 'foreign-r.txt')`);
    expect(actors.rows).toEqual([{ actor: 'system:reconcile' }]);
    expect(await used('b2')).toBe(10 + 3 + 3 + 5);

    expect(await stack.orchestrator.workers.reconcile.runOnce(later())).toMatchObject({ imported: 0, orphans: 0 });
    await expectStorageInvariants(stack, { untracked: { b1: [temporary], b2: ['gamma/z.txt', 'loose.txt', ownOtherBucket] } });
    expect(await listBackend(b2)).not.toContain(olderVersion);
  });
  it('a tenant\'s `..` keys stay its own: neither reconcile nor sync --bucket beta imports them into beta (issue 8)', async () => {
    const alpha = stack.buckets[0] as TestBucket;
    const paths = ['/alpha/../beta/planted', '/alpha/..%2f..%2fraw3', '/alpha/%2e%2e/raw1'];
    for (const path of paths) expect((await signedRequest(stack, alpha, { method: 'PUT', path, body: 'planted' })).status).toBe(200);
    const planted = (line: string) => /planted|raw[13]|b\d:alpha\//.test(line);
    expect(await stack.orchestrator.workers.reconcile.runOnce(later())).toMatchObject({ imported: 0, orphans: 0, failed: 0 });
    for (const backend of ['b1', 'b2']) {
      const run = await sync(['--backend', backend, '--bucket', 'beta'], later());
      expect(run.code).toBe(0);
      // b2 still holds the foreign keys the reconciler left out of scope; sync --bucket beta may take those.
      expect(imports(run.out).filter(planted)).toEqual([]);
      expect(orphans(run.out)).toEqual([]);
    }
    expect((await keys('beta')).filter(planted)).toEqual([]);
    expect(await failure(stack.client('beta').send(new GetObjectCommand({ Bucket: 'beta', Key: 'planted' })))).toMatchObject({ status: 404 });
    for (const path of paths) expect((await signedRequest(stack, alpha, { method: 'GET', path })).text).toBe('planted');
  });
});
