import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateCommand } from '../../ops/cli/validate-command.js';
import { expectStorageInvariants, listBackend } from '../support/backend-objects.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const replication = (factor: number, extra = '') => `replication:\n  factor: ${factor}\n  worker_interval: 1h\n${extra}`;

describe('replication', () => {
  let stack: TestStack;
  let s3: S3Client;
  const bodies = new Map<string, Buffer>();

  async function copiesOf(key: string): Promise<string[]> {
    const res = await stack.db.pool.query<{ backend: string }>("SELECT backend FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
    return res.rows.map((r) => r.backend);
  }
  async function copyCounts(): Promise<number[]> {
    return Promise.all([...bodies.keys()].map(async (k) => (await copiesOf(k)).length));
  }
  async function expectAllReadable(): Promise<void> {
    for (const [key, body] of bodies) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(md5(await got.Body!.transformToByteArray()), key).toBe(md5(body));
    }
  }
  async function put(key: string, body: Buffer): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
    bodies.set(key, body);
  }

  beforeAll(async () => {
    // b3 has the smallest quota: the most utilised backend once it holds copies.
    stack = await startStack({ backends: [{ quota: 1_000_000 }, { quota: 1_000_000 }, { quota: 200_000 }], serverYaml: '  small_body_buffer: 64KiB' });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  it('does nothing at factor 1, and a reload to factor 2 gives every existing object a second copy', async () => {
    for (let i = 0; i < 12; i++) await put(`obj/${i}`, randomBytes(i === 0 ? 0 : 100 * i));
    expect(await copyCounts()).toEqual(Array(12).fill(1));
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ status: 'skipped' });

    const result = await stack.orchestrator.reload(parseOrThrow(stack.yaml(replication(2))));
    expect(result.applied).toContain('replication.factor');
    // The reload runs the worker at once; nothing else triggers it (the interval is an hour).
    await expect.poll(copyCounts, { timeout: 20_000, interval: 200 }).toEqual(Array(12).fill(2));
    for (const key of bodies.keys()) expect(await copiesOf(key)).toEqual(['b1', 'b2']);
    expect(await stack.orchestrator.workers.replication.runOnce()).toEqual({ status: 'ok', copiesCreated: 0, objectsShort: 0 });
    await expectStorageInvariants(stack);
  });

  it('keeps every object readable, byte for byte, when any one backend is lost', async () => {
    for (const s3rver of stack.s3rvers) {
      s3rver.kill();
      try {
        await expectAllReadable();
      } finally {
        await s3rver.restart();
      }
    }
    await expectStorageInvariants(stack);
  });

  it('replicates at startup after a restart with a higher factor; excess copies go from the most utilised backend', async () => {
    await stack.restart(replication(3));
    s3 = stack.client();
    await expect.poll(copyCounts, { timeout: 20_000, interval: 200 }).toEqual(Array(12).fill(3));
    await expectStorageInvariants(stack);

    // Back to factor 2: the startup pass removes one copy of each, from b3 (highest utilisation).
    await stack.restart(replication(2));
    s3 = stack.client();
    await expect.poll(copyCounts, { timeout: 20_000, interval: 200 }).toEqual(Array(12).fill(2));
    for (const key of bodies.keys()) expect(await copiesOf(key)).toEqual(['b1', 'b2']);
    expect(await stack.orchestrator.workers.overReplication.pending()).toEqual({ factor: 2, pending: 0 });
    await expectAllReadable();
    await expectStorageInvariants(stack);
  });

  it('does not record a replica of a version overwritten while it was copied; its bytes are cleaned up', async () => {
    const key = 'race/x';
    await put(key, Buffer.from('version one'));
    const hooks = stack.orchestrator.workers.replication.hooks;
    let copied: { backend: string; storageKey: string } | undefined;
    hooks.beforeCommit = async (replica) => {
      if (replica.key !== key) return;
      hooks.beforeCommit = undefined;
      copied = replica.copy;
      // Between the copy and its commit, a client overwrites the object.
      await put(key, Buffer.from('version two, longer'));
    };
    try {
      expect(await stack.orchestrator.workers.replication.runOnce()).toEqual({ status: 'ok', copiesCreated: 0, objectsShort: 0 });
    } finally {
      hooks.beforeCommit = undefined;
    }
    expect(copied?.backend).toBe('b2');
    const history = await stack.db.pool.query<{ type: string }>("SELECT type FROM events WHERE stream_id = 'object-alpha/race/x' ORDER BY revision");
    expect(history.rows.map((r) => r.type)).toEqual(['ObjectWritten', 'ObjectWritten']);
    const orphan = await stack.db.pool.query("SELECT 1 FROM events WHERE type = 'OrphanRecorded' AND data->>'storageKey' = $1 AND data->>'reason' = 'replication_superseded'", [copied?.storageKey]);
    expect(orphan.rowCount).toBe(1);
    await expectStorageInvariants(stack);
    expect(await listBackend(stack.s3rvers[1]!)).not.toContain(copied?.storageKey);

    // The version that won is replicated by the next pass.
    expect(await copiesOf(key)).toEqual(['b1']);
    expect(await stack.orchestrator.workers.replication.runOnce()).toEqual({ status: 'ok', copiesCreated: 1, objectsShort: 0 });
    expect(await copiesOf(key)).toEqual(['b1', 'b2']);
    await expectAllReadable();
  });

  it('with write_copies 2, a PUT answers only once two copies are committed (buffered and streamed bodies)', async () => {
    await stack.restart(replication(2, '  write_copies: 2'));
    s3 = stack.client();
    for (const [key, size] of [['sync/small', 2_000], ['sync/streamed', 300_000]] as const) {
      await put(key, randomBytes(size));
      const rows = await stack.db.pool.query<{ backend: string; storage_key: string }>(
        "SELECT backend, storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
      expect(rows.rows.map((r) => r.backend), key).toEqual(['b1', 'b2']);
      for (const r of rows.rows) {
        const index = Number(r.backend.slice(1)) - 1;
        expect(await listBackend(stack.s3rvers[index]!), `${key} on ${r.backend}`).toContain(r.storage_key);
      }
      const written = await stack.db.pool.query("SELECT jsonb_array_length(data->'copies') AS n FROM events WHERE stream_id = $1 AND type = 'ObjectWritten'", [`object-alpha/${key}`]);
      expect(written.rows).toEqual([{ n: 2 }]);
    }
    await expectAllReadable();
    await expectStorageInvariants(stack);
  });

  it('s3o validate refuses a factor larger than the number of backends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3o-validate-'));
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(file, stack.yaml(replication(4)));
      expect(await validateCommand(['--config', file])).toBe(1);
      expect(errors.join('\n')).toContain('replication.factor (4) exceeds the number of backends (3)');
      await writeFile(file, stack.yaml(replication(3)));
      expect(await validateCommand(['--config', file])).toBe(0);
    } finally {
      spy.mockRestore();
      log.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
