import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipBitOnDisk, s3rverObjectFile } from '../support/corrupt-on-disk.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const yaml = [
  'telemetry:\n  metrics:\n    enabled: true',
  'replication:\n  factor: 3\n  write_copies: 2\n  worker_interval: 1h',
  'integrity:\n  enabled: true\n  verify_on_replicate: true\n  scrubber_interval: 0',
].join('\n');

describe('integrity.verify_on_replicate: a replica is recorded only when its bytes hash to the recorded SHA-256', () => {
  let stack: TestStack;
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];
  const copies = (key: string) => rows<{ backend: string; storage_key: string }>(
    "SELECT backend, storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
  const eventsOf = (key: string) => rows<{ type: string; data: { backend?: string; component?: string; copy?: { backend: string } } }>(
    'SELECT type, data FROM events WHERE stream_id = $1 ORDER BY revision', [`object-alpha/${key}`]);
  const metric = async (line: RegExp): Promise<number> => Number((await (await fetch(`${stack.url}/metrics`)).text()).match(line)?.[1] ?? 0);

  const backendFile = (backend: number, storageKey: string) => s3rverObjectFile(stack.s3rvers[backend]!, storageKey);
  async function corruptOnDisk(key: string, backend: 'b1' | 'b2'): Promise<void> {
    const copy = (await copies(key)).find((c) => c.backend === backend)!;
    await flipBitOnDisk(stack.s3rvers[backend === 'b1' ? 0 : 1]!, copy.storage_key);
  }
  async function put(key: string): Promise<Buffer> {
    const body = randomBytes(200_000);
    await stack.client().send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
    expect((await copies(key)).map((c) => c.backend)).toEqual(['b1', 'b2']);
    return body;
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{}, {}, {}], extraYaml: yaml });
    // The replication pass run at start-up goes first: were it still scanning after a test's PUT,
    // it would copy the object before the test corrupts a source.
    await stack.orchestrator.workers.replication.runOnce();
  });
  afterAll(async () => stack?.stop());

  it('a corrupt source is recorded CopyCorrupted (component replicate) and the replica is copied from the next copy', async () => {
    const body = await put('flipped');
    await corruptOnDisk('flipped', 'b1');
    const report = await stack.orchestrator.workers.replication.runOnce();
    expect(report).toMatchObject({ status: 'ok', copiesCreated: 1 });

    // The corrupt source is recorded (and repaired) in the background.
    await expect.poll(async () => (await eventsOf('flipped')).filter((e) => e.type === 'CopyCorrupted').map((e) => [e.data.backend, e.data.component]))
      .toEqual([['b1', 'replicate']]);
    const events = await eventsOf('flipped');
    expect(events.filter((e) => e.type === 'ReplicaAdded').map((e) => e.data.copy?.backend)).toEqual(['b3']);
    const b3 = (await copies('flipped')).find((c) => c.backend === 'b3')!;
    expect(sha256(await readFile(await backendFile(2, b3.storage_key)))).toBe(sha256(body));
    expect(await metric(/s3o_integrity_errors_total\{component="replicate"\} (\d+)/)).toBe(1);
    expect(await metric(/s3o_integrity_checks_total\{component="replicate"\} (\d+)/)).toBeGreaterThanOrEqual(2);
  });

  it('with every source corrupt nothing is recorded as a replica', async () => {
    await put('doomed');
    await corruptOnDisk('doomed', 'b1');
    await corruptOnDisk('doomed', 'b2');
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ status: 'ok', copiesCreated: 0 });
    await expect.poll(async () => (await eventsOf('doomed')).filter((e) => e.type === 'CopyCorrupted').map((e) => e.data.backend).sort()).toEqual(['b1', 'b2']);
    const events = await eventsOf('doomed');
    expect(events.some((e) => e.type === 'ReplicaAdded')).toBe(false);
    expect((await copies('doomed')).map((c) => c.backend)).toEqual(['b1', 'b2']);
  });
});
