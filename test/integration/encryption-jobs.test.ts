import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredCopy } from '../../domain/events/common.js';
import type { AppendResult, StreamAppend } from '../../domain/eventstore/port.js';
import type { JobCommand } from '../../domain/jobs/job-decider.js';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { backendClient, expectStorageInvariants } from '../support/backend-objects.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';

const token = 'enc-jobs-token';
const marker = 'PLAINTEXT-MARKER-7f3a';
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const base = ['replication:', '  factor: 2', '  write_copies: 2', 'ui:', `  admin_token: ${token}`].join('\n');
const encryption = (primary: string, previous: string[] = [], enabled = true) => [
  'encryption:', `  enabled: ${enabled}`, `  master_key: "${primary}"`, '  chunk_size: 4096',
  ...(previous.length > 0 ? ['  previous_keys:', ...previous.map((k) => `    - "${k}"`)] : []),
].join('\n');

async function backendBodies(s: S3rverInstance): Promise<Map<string, Buffer>> {
  const c = backendClient(s);
  const out = new Map<string, Buffer>();
  const page = await c.send(new ListObjectsV2Command({ Bucket: s.bucket }));
  for (const o of page.Contents ?? []) {
    const got = await c.send(new GetObjectCommand({ Bucket: s.bucket, Key: o.Key }));
    out.set(o.Key ?? '', Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()));
  }
  c.destroy();
  return out;
}

async function admin(stack: TestStack, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await adminCommand([...argv, '--addr', stack.url, '--token', token], { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } }, { pollIntervalMs: 50 });
  return { code, out, err };
}

async function readAll(stack: TestStack, bodies: Map<string, Buffer>): Promise<void> {
  const s3 = stack.client();
  for (const [key, body] of bodies) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(body), key).toBe(true);
  }
}

async function rewritesPerObject(stack: TestStack, type: string): Promise<number[]> {
  const res = await stack.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE type = $1 GROUP BY stream_id', [type]);
  return res.rows.map((r) => r.n);
}

describe('encryption jobs', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('encrypt-existing, rotate-encryption-key and decrypt-existing follow the manual: no plaintext left, every object reads, usage is the stored bytes', async () => {
    stack = await startStack({ backends: [{ quota: 0 }, { quota: 0 }], extraYaml: base });
    const s3 = stack.client();
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 24; i += 1) {
      const body = Buffer.concat([Buffer.from(marker), randomBytes(i * 700)]);
      bodies.set(`k${i}`, body);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `k${i}`, Body: body }));
    }
    const refused = await admin(stack, 'encrypt-existing');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/encryption is not enabled/);

    // Enable encryption and restart; encrypt what is there.
    await stack.restart(`${base}\n${encryption(keyA)}`);
    const encrypted = await admin(stack, 'encrypt-existing');
    expect(encrypted.err).toBe('');
    expect(JSON.parse(encrypted.out)).toEqual({ status: 'complete', encrypted: 24, failed: 0, total: 24 });
    for (const s of stack.s3rvers) for (const [k, b] of await backendBodies(s)) expect(b.includes(marker), `${k} holds plaintext`).toBe(false);
    await readAll(stack, bodies);
    await expectStorageInvariants(stack);
    expect(await rewritesPerObject(stack, 'StoredBytesRewritten')).toEqual(Array(24).fill(1));
    const again = await admin(stack, 'encrypt-existing');
    expect(JSON.parse(again.out)).toEqual({ status: 'complete', encrypted: 0, failed: 0, total: 0 });
    const history = await admin(stack, 'history', 'alpha/k3');
    expect(history.out).toMatch(/encrypted with key config-0 \([0-9a-f]{16}\) by job/);

    // Rotate: the new key first, the old one among the previous keys, restart, re-wrap.
    await stack.restart(`${base}\n${encryption(keyB, [keyA])}`);
    const unknown = await admin(stack, 'rotate-encryption-key', '--old-key-id', 'config-7');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown old_key_id "config-7".*config-0/);
    const rotated = await admin(stack, 'rotate-encryption-key', '--old-key-id', 'config-0');
    expect(JSON.parse(rotated.out)).toEqual({ status: 'complete', rotated: 24, failed: 0, total: 24 });
    expect(await rewritesPerObject(stack, 'DataKeyRewrapped')).toEqual(Array(24).fill(1));
    // The old key can go: every object still reads with the new one alone.
    await stack.restart(`${base}\n${encryption(keyB)}`);
    await readAll(stack, bodies);

    // Decrypt, then encryption may be disabled.
    const decrypted = await admin(stack, 'decrypt-existing');
    expect(JSON.parse(decrypted.out)).toEqual({ status: 'complete', decrypted: 24, failed: 0, total: 24 });
    await expectStorageInvariants(stack);
    for (const s of stack.s3rvers) {
      const stored = await backendBodies(s);
      expect([...stored.values()].filter((b) => b.includes(marker)).length).toBe(24);
    }
    const used = await stack.db.pool.query<{ used: string }>('SELECT sum(bytes_used)::bigint AS used FROM backend_usage');
    expect(Number(used.rows[0]?.used)).toBe(2 * [...bodies.values()].reduce((n, b) => n + b.length, 0));
    await stack.restart(`${base}\n${encryption(keyB, [], false)}`);
    await readAll(stack, bodies);
  }, 180_000);

  it('a client write during a rewrite wins: the rewrite is skipped and its new bytes cleaned up', async () => {
    stack = await startStack({ backends: [{ quota: 0 }], extraYaml: base.replace('factor: 2', 'factor: 1').replace('write_copies: 2', 'write_copies: 1') });
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'raced', Body: Buffer.from(`${marker} old`) }));
    await stack.restart(`${base.replace('factor: 2', 'factor: 1').replace('write_copies: 2', 'write_copies: 1')}\n${encryption(keyA)}`);
    const { rewriter, objects, store } = stack.orchestrator.services;
    const writeId = (await objects.load('alpha', 'raced')).current?.writeId ?? '';
    const steps: JobCommand['type'][] = [];
    let targets: StoredCopy[] = [];
    const client = stack.client();
    // A job that records its steps in memory and appends the object's events for real; the
    // client overwrites the object once the rewrite's new bytes are about to be written.
    const job = {
      jobId: 'J-race',
      async record(command: JobCommand, others: readonly StreamAppend[] = []): Promise<AppendResult[]> {
        steps.push(command.type);
        if (command.type === 'StartRewrite') {
          targets = command.targets;
          await client.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'raced', Body: Buffer.from('the client wins') }));
        }
        return others.length > 0 ? store.appendToStreams(others) : [];
      },
      appenderFor(command: JobCommand) {
        return { appendToStreams: (appends: readonly StreamAppend[]) => job.record(command, appends) };
      },
    };
    const outcome = await rewriter?.rewrite(job, 'encrypt', { bucket: 'alpha', key: 'raced', writeId }, { actor: 'test' });
    expect(outcome).toBe('skipped');
    expect(steps).toEqual(['StartRewrite', 'SkipRewrite']);
    const got = await client.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'raced' }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe('the client wins');
    const orphaned = await stack.db.pool.query("SELECT data->>'storageKey' AS storage_key FROM events WHERE type = 'OrphanRecorded' AND data->>'reason' = 'rewrite_abandoned'");
    expect(orphaned.rows.map((r: { storage_key: string }) => r.storage_key)).toEqual(targets.map((t) => t.storageKey));
    // Once cleaned up, the backend holds the client's version only.
    await expectStorageInvariants(stack);
  }, 60_000);
});
