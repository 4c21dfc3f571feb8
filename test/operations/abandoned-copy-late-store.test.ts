import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { expectStorageInvariants, listBackend } from '../support/backend-objects.js';
import { startLateStoringProxy, type LateStoringProxy } from '../support/late-storing-proxy.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';

/**
 * A move, replica or rewrite whose PUT the target backend answers with a failure, yet stores
 * after the gateway gave it up (a timed-out request the backend finishes): its bytes must not stay
 * on the backend untracked. They are a failed write's orphan, deleted once
 * cleanup_queue.failed_write_grace has passed (0 here: at the worker's next pass, which the tests
 * run themselves after the late store), and each attempt writes its own key, so that delete never
 * touches a retry's bytes.
 */
const token = 'late-store-token';
const manualCleanup = { scheduledCleanup: false };
const cause = { actor: 'operator:test' };
const grace = 'cleanup_queue:\n  failed_write_grace: 0s';

async function rows<T>(stack: TestStack, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await stack.db.pool.query(sql, params)).rows as T[];
}
const copiesOf = (stack: TestStack, key: string) => rows<{ backend: string; storage_key: string }>(stack,
  "SELECT backend, storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
const orphansOf = async (stack: TestStack, key: string, reason: string) => (await rows<{ n: number }>(stack,
  "SELECT count(*)::int AS n FROM events WHERE type = 'OrphanRecorded' AND data->>'reason' = $1 AND data->>'storageKey' LIKE $2", [reason, `alpha/${key}~%`]))[0]!.n;

describe('a move or replica answered as failed and stored late', () => {
  let stack: TestStack;
  let proxy: LateStoringProxy | undefined;
  let b2: S3rverInstance;

  beforeAll(async () => {
    stack = await startStack({
      backends: [{}, { endpoint: async (s) => (proxy = await startLateStoringProxy(s.endpoint)).endpoint }],
      extraYaml: `replication:\n  factor: 2\n  write_copies: 1\n  worker_interval: 1h\n${grace}`,
      start: manualCleanup,
    });
    b2 = stack.s3rvers[1] as S3rverInstance;
    // The replication worker makes a pass when it starts (runAtStart). On a slow machine that pass
    // can still be running when the first test writes, find the object short of copies and try a
    // replica of its own. A pass asked for now queues behind it, so once this returns it is over.
    await stack.orchestrator.workers.replication.runOnce();
  });
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  it('replica: the attempt\'s bytes are deleted after the late store, and the next version\'s replica stays', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'late-replica', Body: 'version one' }));
    expect((await copiesOf(stack, 'late-replica')).map((c) => c.backend)).toEqual(['b1']);
    proxy!.holdPuts((path) => path.includes('late-replica'));
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ copiesCreated: 0, objectsShort: 1 });
    expect(proxy!.held()).toBe(1);
    expect(await orphansOf(stack, 'late-replica', 'replication_failed')).toBe(1);
    await stack.orchestrator.services.reclaimer.drain();

    // The backend stores the replica it answered as failed; meanwhile a client's overwrite moves the
    // object on, so no retry of that replica (same version, same revision) ever comes.
    await proxy!.storeHeld();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'late-replica', Body: 'version two' }));
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ copiesCreated: 1, objectsShort: 0 });

    await expectStorageInvariants(stack);
    expect((await copiesOf(stack, 'late-replica')).map((c) => c.backend)).toEqual(['b1', 'b2']);
    expect((await listBackend(b2)).filter((k) => k.includes('late-replica'))).toEqual((await copiesOf(stack, 'late-replica')).filter((c) => c.backend === 'b2').map((c) => c.storage_key));
  });

  it('replica: a retry of the same version writes another key, which the failed attempt\'s cleanup leaves alone', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'late-retry', Body: 'kept' }));
    proxy!.holdPuts((path) => path.includes('late-retry'));
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ copiesCreated: 0, objectsShort: 1 });
    await proxy!.storeHeld();
    const given = (await listBackend(b2)).filter((k) => k.includes('late-retry'));
    expect(given).toHaveLength(1);

    // The retry commits before the failed attempt's item falls due: its bytes are not that key's.
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ copiesCreated: 1, objectsShort: 0 });
    const replica = (await copiesOf(stack, 'late-retry')).find((c) => c.backend === 'b2')!;
    expect(replica.storage_key).not.toBe(given[0]);
    await expectStorageInvariants(stack);
    expect((await listBackend(b2)).filter((k) => k.includes('late-retry'))).toEqual([replica.storage_key]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'late-retry' }));
    expect(await got.Body!.transformToString()).toBe('kept');
  });

  it('move: the given-up attempt\'s bytes are deleted after the late store', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'late-move', Body: 'to be moved' }));
    expect((await copiesOf(stack, 'late-move')).map((c) => c.backend)).toEqual(['b1']);
    proxy!.holdPuts((path) => path.includes('late-move'));
    const jobId = await stack.orchestrator.services.backendAdmin.startDrain('b1', cause);
    const moveEvents = async (type: string) => (await rows<{ n: number }>(stack,
      "SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = $2 AND data->>'key' = 'late-move'", [`job-${jobId}`, type]))[0]!.n;
    await expect.poll(() => moveEvents('MoveFailed'), { timeout: 30_000, interval: 100 }).toBeGreaterThan(0);

    // The operator cancels the drain: the move is never retried. Once the driver has stopped, every
    // attempt it made has been given up on.
    await stack.orchestrator.services.backendAdmin.cancelDrain('b1', cause);
    await expect.poll(() => stack.orchestrator.jobs.localJobs(), { timeout: 30_000, interval: 100 }).toEqual([]);
    expect(await orphansOf(stack, 'late-move', 'move_abandoned')).toBe(proxy!.held());
    await stack.orchestrator.services.reclaimer.drain();

    await proxy!.storeHeld();
    expect((await listBackend(b2)).filter((k) => k.includes('late-move')).length).toBeGreaterThan(0);
    await expectStorageInvariants(stack);
    expect((await listBackend(b2)).filter((k) => k.includes('late-move'))).toEqual([]);
    expect((await copiesOf(stack, 'late-move')).map((c) => c.backend)).toEqual(['b1']);
  });
});

describe('a rewrite answered as failed and stored late', () => {
  let stack: TestStack;
  let proxy: LateStoringProxy | undefined;
  const base = `replication:\n  factor: 1\nui:\n  admin_token: ${token}\n${grace}`;
  const admin = async (...argv: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await adminCommand([...argv, '--addr', stack.url, '--token', token], { out: { write: (s: string) => (out += s) }, err: { write: () => undefined } }, { pollIntervalMs: 50 });
    return { code, out };
  };

  beforeAll(async () => {
    stack = await startStack({
      backends: [{ endpoint: async (s) => (proxy = await startLateStoringProxy(s.endpoint)).endpoint }],
      extraYaml: base,
      start: manualCleanup,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  it('its bytes are deleted after the late store, and the next run encrypts the object', async () => {
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: 'late-rewrite', Body: 'plaintext to encrypt' }));
    await stack.restart(`${base}\nencryption:\n  enabled: true\n  master_key: "${Buffer.alloc(32, 7).toString('base64')}"`);
    proxy!.holdPuts((path) => path.includes('late-rewrite'));
    expect(JSON.parse((await admin('encrypt-existing')).out)).toMatchObject({ encrypted: 0, failed: 1 });
    expect(proxy!.held()).toBe(1);
    expect(await orphansOf(stack, 'late-rewrite', 'rewrite_abandoned')).toBe(1);
    await stack.orchestrator.services.reclaimer.drain();

    await proxy!.storeHeld();
    const b1 = stack.s3rvers[0] as S3rverInstance;
    expect((await listBackend(b1)).filter((k) => k.includes('late-rewrite'))).toHaveLength(2);
    await expectStorageInvariants(stack);
    expect((await listBackend(b1)).filter((k) => k.includes('late-rewrite'))).toEqual((await copiesOf(stack, 'late-rewrite')).map((c) => c.storage_key));

    expect(JSON.parse((await admin('encrypt-existing')).out)).toMatchObject({ encrypted: 1, failed: 0 });
    await expectStorageInvariants(stack);
    const got = await stack.client().send(new GetObjectCommand({ Bucket: 'alpha', Key: 'late-rewrite' }));
    expect(await got.Body!.transformToString()).toBe('plaintext to encrypt');
  });
});
