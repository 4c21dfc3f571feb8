import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackend } from '../support/backend-objects.js';
import { flipBitOnDisk, s3rverObjectFile } from '../support/corrupt-on-disk.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const yaml = [
  'telemetry:\n  metrics:\n    enabled: true',
  'replication:\n  factor: 2\n  write_copies: 2\n  worker_interval: 1h',
  'integrity:\n  enabled: true\n  verify_on_replicate: true\n  scrubber_interval: 0',
  'cleanup_queue:\n  failed_write_grace: 1s',
].join('\n');
const cause = { actor: 'operator:test' };

/**
 * integrity.verify_on_replicate on the mover's path: a drain reads the copy it moves (the draining
 * backend's, first in configuration order) and must never record a copy whose bytes are not the
 * object's. A corrupt source is recorded and another healthy copy is the source; with no healthy
 * copy the move fails and is retried, and nothing is recorded on the target.
 */
describe('integrity.verify_on_replicate: a drain never moves corrupt bytes', () => {
  let stack: TestStack;
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];
  const copies = (key: string) => rows<{ backend: string; storage_key: string }>(
    "SELECT backend, storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
  const eventsOf = (key: string) => rows<{ type: string; data: { backend?: string; component?: string; from?: { backend: string }; to?: { backend: string } } }>(
    'SELECT type, data FROM events WHERE stream_id = $1 ORDER BY revision', [`object-alpha/${key}`]);
  const metric = async (line: RegExp): Promise<number> => Number((await (await fetch(`${stack.url}/metrics`)).text()).match(line)?.[1] ?? 0);
  const s3rverOf = (backend: string) => stack.s3rvers[Number(backend.slice(1)) - 1]!;
  async function corrupt(key: string, backend: string): Promise<void> {
    const copy = (await copies(key)).find((c) => c.backend === backend)!;
    await flipBitOnDisk(s3rverOf(backend), copy.storage_key);
  }
  async function put(key: string): Promise<Buffer> {
    const body = randomBytes(200_000);
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
    expect((await copies(key)).map((c) => c.backend)).toEqual(['b1', 'b2']);
    return body;
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{}, {}, {}], extraYaml: yaml });
  });
  afterAll(async () => stack?.stop());

  it('records the corrupt source, moves the healthy copy\'s bytes, and fails the move when no copy is intact', async () => {
    const healthy = await put('b1-corrupt');
    await put('all-corrupt');
    await corrupt('b1-corrupt', 'b1');
    await corrupt('all-corrupt', 'b1');
    await corrupt('all-corrupt', 'b2');
    const jobId = await stack.orchestrator.services.backendAdmin.startDrain('b1', cause);

    // The object with a healthy copy elsewhere gets b2's bytes on b3 in place of its b1 copy: by the
    // drain's move, or by the read-repair the corrupt copy queued, which also writes off the
    // draining backend (then the move finds the object changed and skips it). Either way, once.
    const relocated = (events: Awaited<ReturnType<typeof eventsOf>>) => events
      .filter((e) => e.type === 'CopyMoved' || e.type === 'CopyRepaired').map((e) => [e.data.from?.backend, e.data.to?.backend]);
    await expect.poll(async () => relocated(await eventsOf('b1-corrupt')), { timeout: 60_000, interval: 200 }).toEqual([['b1', 'b3']]);
    expect((await eventsOf('b1-corrupt')).filter((e) => e.type === 'CopyCorrupted').map((e) => [e.data.backend, e.data.component])).toEqual([['b1', 'replicate']]);
    expect((await copies('b1-corrupt')).map((c) => c.backend)).toEqual(['b2', 'b3']);
    for (const c of await copies('b1-corrupt')) expect(sha256(await readFile(await s3rverObjectFile(s3rverOf(c.backend), c.storage_key))), c.backend).toBe(sha256(healthy));
    const got = await stack.client().send(new GetObjectCommand({ Bucket: 'alpha', Key: 'b1-corrupt' }));
    expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(healthy));

    // The object with no intact copy is not moved: its move fails (and will be retried), both bad copies are recorded.
    await expect.poll(async () => (await rows<{ error: string }>(
      "SELECT data->>'error' AS error FROM events WHERE stream_id = $1 AND type = 'MoveFailed' AND data->>'key' = 'all-corrupt'", [`job-${jobId}`])).map((r) => r.error),
    { timeout: 60_000, interval: 200 }).toContainEqual(expect.stringContaining('no copy matches the recorded SHA-256'));
    await expect.poll(async () => (await eventsOf('all-corrupt')).filter((e) => e.type === 'CopyCorrupted').map((e) => e.data.backend).sort()).toEqual(['b1', 'b2']);
    expect((await eventsOf('all-corrupt')).some((e) => e.type === 'CopyMoved' || e.type === 'ReplicaDropped')).toBe(false);
    expect((await copies('all-corrupt')).map((c) => c.backend)).toEqual(['b1', 'b2']);
    // A read-repair of it may have written to b3 before finding no intact source: those bytes are
    // a failed write's orphan, which the cleanup worker deletes once cleanup_queue.failed_write_grace
    // has passed (the backend may still store the aborted PUT after a delete sent at once). Once
    // each is cleaned up, nothing of it stays on b3. The worker is run here rather than waited for.
    const repairOrphansOpen = async (): Promise<number> => {
      await stack.orchestrator.cleanup.runOnce();
      return (await rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM events o WHERE o.type = 'OrphanRecorded' AND o.data->>'reason' = 'repair_failed'
            AND o.data->>'backend' = 'b3' AND o.data->>'storageKey' LIKE '%all-corrupt%'
            AND NOT EXISTS (SELECT 1 FROM events c WHERE c.stream_id = o.stream_id AND c.type = 'CleanupSucceeded')`))[0]!.n;
    };
    await expect.poll(repairOrphansOpen, { timeout: 60_000, interval: 200 }).toBe(0);
    await expect.poll(async () => (await listBackend(s3rverOf('b3'))).filter((k) => k.includes('all-corrupt')), { timeout: 60_000, interval: 200 }).toEqual([]);
    expect((await stack.orchestrator.services.backendAdmin.drainStatus('b1')).state).toBe('draining');
    expect(await metric(/s3o_integrity_errors_total\{component="replicate"\} (\d+)/)).toBeGreaterThanOrEqual(3);

    await stack.orchestrator.services.backendAdmin.cancelDrain('b1', cause);
  });
});
