import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../processes/cleanup-worker.js';
import { stillThereError } from '../../domain/cleanup/cleanup-attempt.js';
import { listCleanupItems } from '../../projections/read/cleanup-reads.js';
import { expectStorageInvariants, listBackend, putOnBackend } from '../support/backend-objects.js';
import { startHeaderRecordingProxy, type HeaderRecordingProxy } from '../support/header-recording-proxy.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';

const minute = 60_000;
const day = 24 * 60 * minute;
/** These tests run the cleanup worker's passes and count what each did: its own 10 s schedule would race them. */
const manualCleanup = { scheduledCleanup: false };

describe('cleanup retry delay', () => {
  it('doubles from one minute per failed attempt and stops at 24 hours', () => {
    expect([1, 2, 3, 4, 10, 11].map(retryDelayMs)).toEqual([1, 2, 4, 8, 512, 1024].map((m) => m * minute));
    // 2048 minutes would exceed a day.
    expect(retryDelayMs(12)).toBe(day);
    expect(retryDelayMs(50)).toBe(day);
  });
});

describe('cleanup queue', () => {
  let stack: TestStack;
  let b1: S3rverInstance;
  let b2: S3rverInstance;
  const cause = { actor: 'test' };

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 1_000_000 }, { quota: 1_000_000 }], extraYaml: 'cleanup_queue:\n  max_attempts: 4', start: manualCleanup });
    [b1, b2] = stack.s3rvers as [S3rverInstance, S3rverInstance];
  });
  afterAll(async () => stack?.stop());

  const orphanBytes = async (backend: string) =>
    Number((await stack.db.pool.query('SELECT orphan_bytes FROM backend_usage WHERE backend = $1', [backend])).rows[0]?.orphan_bytes ?? 0);
  const item = async (id: string) =>
    (await stack.db.pool.query<{ state: string; attempts: number; next_retry_at: Date }>('SELECT state, attempts, next_retry_at FROM cleanup_queue WHERE id = $1', [id])).rows[0];
  const streamTypes = async (id: string) =>
    (await stack.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`cleanup-${id}`])).rows.map((r) => r.type);
  async function orphan(backend: string, key: string, size: number, reason = 'test'): Promise<string> {
    const recorded = await stack.orchestrator.services.orphans.record(backend, key, size, reason, cause, { reclaimNow: false });
    if (!recorded) throw new Error('orphan not recorded');
    return recorded.cleanupId;
  }

  it('deletes an orphan and releases its reserved bytes', async () => {
    await putOnBackend(b1, 'alpha/orphan~01ARZ3NDEKTSV4RRFFQ69G5FAV', 'orphaned');
    const id = await orphan('b1', 'alpha/orphan~01ARZ3NDEKTSV4RRFFQ69G5FAV', 8);
    expect(await orphanBytes('b1')).toBe(8);
    expect(await stack.orchestrator.cleanup.runOnce()).toEqual({ succeeded: 1, failed: 0, exhausted: 0, skipped: 0 });
    expect(await listBackend(b1)).toEqual([]);
    expect(await orphanBytes('b1')).toBe(0);
    expect(await item(id)).toBeUndefined();
    expect(await streamTypes(id)).toEqual(['OrphanRecorded', 'CleanupSucceeded']);
  });

  it('never deletes a live copy', async () => {
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'live', Body: 'still here' }));
    const { backend, storage_key: key } = (await stack.db.pool.query("SELECT backend, storage_key FROM object_copies WHERE key = 'live'")).rows[0];
    const id = await orphan(backend, key, 10);
    expect(await stack.orchestrator.cleanup.runOnce()).toEqual({ succeeded: 0, failed: 0, exhausted: 0, skipped: 1 });
    expect(await listBackend(b1)).toEqual([key]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'live' }));
    expect(await got.Body?.transformToString()).toBe('still here');
    expect(await streamTypes(id)).toEqual(['OrphanRecorded', 'CleanupDismissed']);
    expect(await orphanBytes(backend)).toBe(0);
  });

  it('leaves an item of an unknown backend alone', async () => {
    const id = await orphan('ghost', 'alpha/x~01ARZ3NDEKTSV4RRFFQ69G5FAV', 5);
    expect(await stack.orchestrator.cleanup.runOnce()).toEqual({ succeeded: 0, failed: 0, exhausted: 0, skipped: 1 });
    expect(await item(id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await streamTypes(id)).toEqual(['OrphanRecorded']);
    expect(await orphanBytes('ghost')).toBe(5);
    await expectStorageInvariants(stack);
  });

  it('retries with back-off while the backend is down, then is exhausted with its bytes still reserved', async () => {
    const key = 'alpha/unreachable~01ARZ3NDEKTSV4RRFFQ69G5FAV';
    await putOnBackend(b2, key, 'seventeen bytes!!');
    const id = await orphan('b2', key, 17);
    b2.kill();
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const before = Date.now();
        expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ failed: 1, exhausted: 0 });
        const after = Date.now();
        const row = await item(id);
        expect(row).toMatchObject({ state: 'pending', attempts: attempt });
        const due = row?.next_retry_at.getTime() ?? 0;
        expect(due).toBeGreaterThanOrEqual(before + retryDelayMs(attempt));
        expect(due).toBeLessThanOrEqual(after + retryDelayMs(attempt));
        // Not due yet: a pass now does not touch it.
        expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ failed: 0, exhausted: 0 });
        expect((await item(id))?.attempts).toBe(attempt);
        // Time passes: the retry is due.
        await stack.db.pool.query('UPDATE cleanup_queue SET next_retry_at = now() WHERE id = $1', [id]);
      }
      expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ failed: 0, exhausted: 1 });
      expect(await item(id)).toMatchObject({ state: 'exhausted', attempts: 4 });
      expect(await orphanBytes('b2')).toBe(17);
      // Exhausted items are not retried on their own.
      await stack.db.pool.query('UPDATE cleanup_queue SET next_retry_at = now() WHERE id = $1', [id]);
      expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ failed: 0, exhausted: 0 });
      expect(await streamTypes(id)).toEqual(['OrphanRecorded', 'CleanupFailed', 'CleanupFailed', 'CleanupFailed', 'CleanupExhausted']);
    } finally {
      await b2.restart();
    }
    // The bytes are still there and still reserved until an operator retries or dismisses the item.
    await expectStorageInvariants(stack, { untracked: { b2: [key] } });
  });

  it('deletes a failed write\'s bytes only once cleanup_queue.failed_write_grace has passed since it was recorded', async () => {
    await stack.restart('cleanup_queue:\n  max_attempts: 4\n  failed_write_grace: 1h');
    try {
      const key = 'alpha/aborted~01ARZ3NDEKTSV4RRFFQ69G5FAV';
      await putOnBackend(b1, key, 'a PUT we gave up on');
      const recorded = await stack.orchestrator.services.orphans.record('b1', key, 0, 'failed_upload', cause);
      // Not deleted at once, as other orphans are, nor by a pass within the grace.
      await stack.orchestrator.services.reclaimer.drain();
      expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ succeeded: 0, failed: 0, exhausted: 0 });
      expect(await listBackend(b1)).toContain(key);
      expect(await item(recorded!.cleanupId)).toMatchObject({ state: 'pending', attempts: 0 });
      // The admin listing says when the worker will act: at the end of the grace.
      const listed = async () => (await listCleanupItems(stack.db.pool, { limit: 1000, failedWriteGraceMs: 60 * minute }))
        .find((i) => i.id === recorded!.cleanupId);
      const inGrace = await listed();
      expect(Date.parse(inGrace!.nextRetryAt)).toBe(Date.parse(inGrace!.createdAt) + 60 * minute);
      // The grace has passed: the listing shows it due, and the next pass deletes it.
      await stack.db.pool.query("UPDATE cleanup_queue SET created_at = now() - interval '1 hour' WHERE id = $1", [recorded!.cleanupId]);
      expect(Date.parse((await listed())!.nextRetryAt)).toBeLessThanOrEqual(Date.now());
      expect(await stack.orchestrator.cleanup.runOnce()).toMatchObject({ succeeded: 1, failed: 0, exhausted: 0 });
      expect(await listBackend(b1)).not.toContain(key);
      expect(await streamTypes(recorded!.cleanupId)).toEqual(['OrphanRecorded', 'CleanupSucceeded']);
    } finally {
      await stack.restart();
    }
  });
});

describe('cleanup queue: a failed write\'s key still there after its delete', () => {
  let stack: TestStack;
  let proxy: HeaderRecordingProxy | undefined;
  const cause = { actor: 'test' };

  beforeAll(async () => {
    stack = await startStack({
      backends: [{ quota: 1_000_000, endpoint: async (s) => (proxy = await startHeaderRecordingProxy(s.endpoint, { swallowDeletes: true })).endpoint }],
      extraYaml: 'cleanup_queue:\n  max_attempts: 2\n  failed_write_grace: 0s',
      start: manualCleanup,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  it('is a failed attempt, retried with back-off, and exhausted after max_attempts rather than deleted forever', async () => {
    const b1 = stack.s3rvers[0] as S3rverInstance;
    const key = 'alpha/completed-late~01ARZ3NDEKTSV4RRFFQ69G5FAV';
    await putOnBackend(b1, key, 'stored after all');
    const recorded = await stack.orchestrator.services.orphans.record('b1', key, 16, 'repair_failed', cause);
    const id = recorded!.cleanupId;
    const row = async () => (await stack.db.pool.query<{ state: string; attempts: number; last_error: string }>(
      'SELECT state, attempts, last_error FROM cleanup_queue WHERE id = $1', [id])).rows[0];
    expect(await stack.orchestrator.cleanup.runOnce()).toEqual({ succeeded: 0, failed: 1, exhausted: 0, skipped: 0 });
    expect(await row()).toEqual({ state: 'pending', attempts: 1, last_error: stillThereError });
    await stack.db.pool.query('UPDATE cleanup_queue SET next_retry_at = now() WHERE id = $1', [id]);
    expect(await stack.orchestrator.cleanup.runOnce()).toEqual({ succeeded: 0, failed: 0, exhausted: 1, skipped: 0 });
    expect(await row()).toEqual({ state: 'exhausted', attempts: 2, last_error: stillThereError });
    expect((await stack.db.pool.query('SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`cleanup-${id}`])).rows.map((r) => r.type))
      .toEqual(['OrphanRecorded', 'CleanupFailed', 'CleanupExhausted']);
    expect(await listBackend(b1)).toEqual([key]);
    expect(proxy?.received.filter((r) => r.method === 'DELETE' || r.method === 'HEAD').map((r) => r.method)).toEqual(['DELETE', 'HEAD', 'DELETE', 'HEAD']);
  });
});
