import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
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
const objectCount = 200;
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const base = ['replication:', '  factor: 2', '  write_copies: 2', 'ui:', `  admin_token: ${token}`, 'telemetry:', '  metrics:', '    enabled: true'].join('\n');
/** A counter's value on the running instance (counters start at 0 with each restart). */
const counted = async (stack: TestStack, series: string): Promise<number> => {
  const line = (await (await fetch(stack.orchestrator.metricsUrl as string)).text()).split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
};
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

/** Each object a job could not rewrite, with the job's reason (the failure message names them). */
async function rewriteFailures(stack: TestStack): Promise<string[]> {
  const res = await stack.db.pool.query<{ key: string; error: string }>("SELECT data->>'key' AS key, data->>'error' AS error FROM events WHERE type = 'RewriteFailed' ORDER BY tx_id, seq");
  return res.rows.map((r) => `${r.key}: ${r.error}`);
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

async function multipartPut(stack: TestStack, key: string, parts: Buffer[]): Promise<void> {
  const s3 = stack.client();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }));
  const done = [];
  for (const [i, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId, PartNumber: i + 1, Body: body }));
    done.push({ PartNumber: i + 1, ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId, MultipartUpload: { Parts: done } }));
}

async function readParts(stack: TestStack, key: string, parts: Buffer[]): Promise<void> {
  const s3 = stack.client();
  for (const [i, part] of parts.entries()) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: i + 1 }));
    expect(got.ContentLength, `part ${i + 1}`).toBe(part.length);
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(part), `part ${i + 1}`).toBe(true);
  }
}

/**
 * After cleanup: the storage invariants hold (used = live copies, nothing untracked), how many
 * markers the backends' files hold, and whether each backend's used bytes are the sum of the
 * sizes of the files it holds.
 */
async function backendState(stack: TestStack): Promise<{ withMarker: number; usedIsStored: boolean }> {
  await expectStorageInvariants(stack);
  let withMarker = 0;
  let usedIsStored = true;
  for (const [i, s] of stack.s3rvers.entries()) {
    const stored = await backendBodies(s);
    for (const b of stored.values()) for (let at = b.indexOf(marker); at >= 0; at = b.indexOf(marker, at + 1)) withMarker += 1;
    const used = await stack.db.pool.query<{ used: string }>('SELECT bytes_used AS used FROM backend_usage WHERE backend = $1', [stack.config.backends[i]?.name]);
    if (Number(used.rows[0]?.used) !== [...stored.values()].reduce((n, b) => n + b.length, 0)) usedIsStored = false;
  }
  return { withMarker, usedIsStored };
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

  it('encrypt-existing, rotate-encryption-key and decrypt-existing follow the manual on a few hundred objects with restarts: no plaintext left, every object reads, usage is the stored bytes', async () => {
    stack = await startStack({ backends: [{ quota: 0 }, { quota: 0 }], extraYaml: base });
    const s3 = stack.client();
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < objectCount; i += 20) {
      await Promise.all(Array.from({ length: 20 }, async (_, j) => {
        const body = Buffer.concat([Buffer.from(marker), randomBytes(((i + j) * 53) % 9000)]);
        bodies.set(`k${i + j}`, body);
        await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `k${i + j}`, Body: body }));
      }));
    }
    // A multipart object (each part holds the marker): encrypt-existing stores it as one segment, ?partNumber= still answers each part.
    const parts = [Buffer.concat([Buffer.from(marker), randomBytes(5 * 1024 * 1024)]), Buffer.concat([Buffer.from(marker), randomBytes(3000)])];
    await multipartPut(stack, 'multi', parts);
    bodies.set('multi', Buffer.concat(parts));
    const total = objectCount + 1;
    const refused = await admin(stack, 'encrypt-existing');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/encryption is not enabled/);

    // Enable encryption and restart; encrypt what is there.
    await stack.restart(`${base}\n${encryption(keyA)}`);
    const encrypted = await admin(stack, 'encrypt-existing');
    expect(encrypted.err).toBe('');
    expect(JSON.parse(encrypted.out), (await rewriteFailures(stack)).join('; ')).toEqual({ status: 'complete', encrypted: total, failed: 0, total });
    expect(await counted(stack, 's3o_encrypt_existing_objects_total{status="success"}')).toBe(total);
    expect(await backendState(stack)).toEqual({ withMarker: 0, usedIsStored: true });
    await readAll(stack, bodies);
    await readParts(stack, 'multi', parts);
    expect(await rewritesPerObject(stack, 'StoredBytesRewritten')).toEqual(Array(total).fill(1));
    const again = await admin(stack, 'encrypt-existing');
    expect(JSON.parse(again.out)).toEqual({ status: 'complete', encrypted: 0, failed: 0, total: 0 });
    const history = await admin(stack, 'history', 'alpha/k3');
    expect(history.out).toMatch(/encrypted with key config-0 \([0-9a-f]{16}\) by job/);

    // Rotate: the new key first, the old one among the previous keys, restart, rewrite the headers.
    await stack.restart(`${base}\n${encryption(keyB, [keyA])}`);
    const unknown = await admin(stack, 'rotate-encryption-key', '--old-key-id', 'config-7');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown old_key_id "config-7".*config-0/);
    const rotated = await admin(stack, 'rotate-encryption-key', '--old-key-id', 'config-0');
    expect(JSON.parse(rotated.out), (await rewriteFailures(stack)).join('; ')).toEqual({ status: 'complete', rotated: total, failed: 0, total });
    expect(await counted(stack, 's3o_key_rotation_objects_total{status="success"}')).toBe(total);
    expect(await rewritesPerObject(stack, 'StoredBytesRewritten')).toEqual(Array(total).fill(2));
    expect(await backendState(stack)).toEqual({ withMarker: 0, usedIsStored: true });
    expect((await admin(stack, 'history', 'alpha/k3')).out).toMatch(/data key re-wrapped, key config-0 \([0-9a-f]{16}\) → config-0 \([0-9a-f]{16}\), and the stored headers rewritten/);
    // The old key can go: every object still reads with the new one alone.
    await stack.restart(`${base}\n${encryption(keyB)}`);
    await readAll(stack, bodies);
    await readParts(stack, 'multi', parts);

    // Decrypt, then encryption may be disabled.
    const decrypted = await admin(stack, 'decrypt-existing');
    expect(JSON.parse(decrypted.out), (await rewriteFailures(stack)).join('; ')).toEqual({ status: 'complete', decrypted: total, failed: 0, total });
    expect(await counted(stack, 's3o_decrypt_existing_objects_total{status="success"}')).toBe(total);
    // Plaintext again: every stored object holds its marker (the multipart one twice), usage is back to the plaintext sizes.
    expect(await backendState(stack)).toEqual({ withMarker: 2 * (total + 1), usedIsStored: true });
    const used = await stack.db.pool.query<{ used: string }>('SELECT sum(bytes_used)::bigint AS used FROM backend_usage');
    expect(Number(used.rows[0]?.used)).toBe(2 * [...bodies.values()].reduce((n, b) => n + b.length, 0));
    await stack.restart(`${base}\n${encryption(keyB, [], false)}`);
    await readAll(stack, bodies);
    await readParts(stack, 'multi', parts);
  }, 400_000);

  it('job-cancel stops encrypt-existing between objects: what was encrypted stays, a rewrite in flight is dropped and cleaned up, running it again does the rest', async () => {
    // The dropped rewrites' bytes are a failed write's orphans: deleted at the worker's next pass, not after a grace.
    const single = `${base.replace('factor: 2', 'factor: 1').replace('write_copies: 2', 'write_copies: 1')}\ncleanup_queue:\n  failed_write_grace: 0s`;
    stack = await startStack({ backends: [{ quota: 0 }], extraYaml: single });
    const s3 = stack.client();
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 30; i += 1) {
      const body = Buffer.concat([Buffer.from(marker), randomBytes(i * 300)]);
      bodies.set(`c${i}`, body);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `c${i}`, Body: body }));
    }
    await stack.restart(`${single}\n${encryption(keyA)}`);
    const rewriter = stack.orchestrator.services.rewriter;
    if (!rewriter) throw new Error('no rewriter with encryption configured');
    // The job's commits after the fifth wait until the operator has cancelled it: those rewrites
    // have written their new bytes and are in flight when the cancel lands.
    const committed = 5;
    let commits = 0;
    let held!: () => void;
    const reachedGate = new Promise<void>((resolve) => (held = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const rewrite = rewriter.rewrite.bind(rewriter);
    rewriter.rewrite = (job, ...rest) => rewrite({
      jobId: job.jobId,
      record: (command, others) => job.record(command, others),
      appenderFor: (command) => {
        const appender = job.appenderFor(command);
        if (command.type !== 'CompleteRewrite' || (commits += 1) <= committed) return appender;
        held();
        return { appendToStreams: async (appends) => { await gate; return appender.appendToStreams(appends); } };
      },
    }, ...rest);

    const started = JSON.parse((await admin(stack, 'encrypt-existing', '--detach', '--json')).out) as { job_id: string };
    await reachedGate;
    const cancelled = await admin(stack, 'job-cancel', started.job_id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.out).toMatch(/encrypt-existing stops after the objects in hand; what it rewrote stays rewritten/);
    open();
    const { pool } = stack.db;
    await expect.poll(async () => stack?.orchestrator.jobs.localJobs(), { timeout: 30_000 }).toEqual([]);
    const row = (await pool.query<{ state: string; moved: number }>('SELECT state, moved::int FROM jobs WHERE job_id = $1', [started.job_id])).rows[0];
    expect(row).toEqual({ state: 'cancelled', moved: committed });
    const again = await admin(stack, 'job-cancel', started.job_id);
    expect(again.err).toMatch(/is cancelled, not running/);
    // Every object reads (encrypted or not); the dropped rewrites' bytes are cleaned up.
    await readAll(stack, bodies);
    await expectStorageInvariants(stack);
    expect((await pool.query("SELECT 1 FROM events WHERE type = 'OrphanRecorded' AND data->>'reason' = 'rewrite_abandoned'")).rowCount).toBeGreaterThan(0);

    // Running the command again encrypts what is left, each object once in all.
    rewriter.rewrite = rewrite;
    const rest = await admin(stack, 'encrypt-existing');
    expect(JSON.parse(rest.out)).toEqual({ status: 'complete', encrypted: bodies.size - committed, failed: 0, total: bodies.size - committed });
    expect(await rewritesPerObject(stack, 'StoredBytesRewritten')).toEqual(Array(bodies.size).fill(1));
    expect(await backendState(stack)).toEqual({ withMarker: 0, usedIsStored: true });
    await readAll(stack, bodies);
  }, 120_000);

  it('a client write during a rewrite wins: the rewrite is skipped and its new bytes cleaned up', async () => {
    // The skipped rewrite's bytes are a failed write's orphans: deleted at the worker's next pass, not after a grace.
    const single = `${base.replace('factor: 2', 'factor: 1').replace('write_copies: 2', 'write_copies: 1')}\ncleanup_queue:\n  failed_write_grace: 0s`;
    stack = await startStack({ backends: [{ quota: 0 }], extraYaml: single });
    const s3 = stack.client();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'raced', Body: Buffer.from(`${marker} old`) }));
    await stack.restart(`${single}\n${encryption(keyA)}`);
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
    const outcome = await rewriter?.rewrite(job, { change: 'encrypt' }, { bucket: 'alpha', key: 'raced', writeId }, { actor: 'test' });
    expect(outcome).toBe('skipped');
    // Either the old bytes were already cleaned up after the client's write (the copy fails and is
    // skipped), or the rewrite's commit, decided on the state it started from, is refused by the
    // object's revision (CompleteRewrite attempted, nothing appended) and then skipped.
    expect([['StartRewrite', 'SkipRewrite'], ['StartRewrite', 'CompleteRewrite', 'SkipRewrite']]).toContainEqual(steps);
    expect(await stack.db.pool.query("SELECT 1 FROM events WHERE type = 'StoredBytesRewritten'")).toMatchObject({ rowCount: 0 });
    const got = await client.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'raced' }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe('the client wins');
    const orphaned = await stack.db.pool.query("SELECT data->>'storageKey' AS storage_key FROM events WHERE type = 'OrphanRecorded' AND data->>'reason' = 'rewrite_abandoned'");
    expect(orphaned.rows.map((r: { storage_key: string }) => r.storage_key)).toEqual(targets.map((t) => t.storageKey));
    // Once cleaned up, the backend holds the client's version only.
    await expectStorageInvariants(stack);
  }, 60_000);
});
