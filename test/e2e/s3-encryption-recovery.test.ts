import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOrchestrator, type Orchestrator } from '../../ops/app.js';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { syncCommand } from '../../ops/cli/sync-command.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { bytesOf } from '../support/raw-copies.js';
import { md5Hex, multipartEtag, patternBytes } from '../support/s3-e2e.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

const MiB = 1024 * 1024;
const hour = 60 * 60 * 1000;
const token = 'recovery-admin-token';
const encryptionYaml = (key: string, previous: string[] = []) => [
  'encryption:', '  enabled: true', `  master_key: "${key}"`, '  chunk_size: 4096',
  ...(previous.length > 0 ? ['  previous_keys:', ...previous.map((k) => `    - "${k}"`)] : []),
  'ui:', `  admin_token: ${token}`,
].join('\n');

function databaseYaml(url: string): string {
  const u = new URL(url);
  return [
    'database:', '  driver: postgres', `  host: ${u.hostname}`, `  port: ${u.port || 5432}`, `  database: ${u.pathname.slice(1)}`,
    `  user: ${decodeURIComponent(u.username)}`, ...(u.password ? [`  password: "${decodeURIComponent(u.password)}"`] : []), '  ssl_mode: disable',
  ].join('\n');
}

/**
 * Recovery from the backend's bytes alone: encrypted objects (single PUT and multipart) written
 * through one log, then rotated to a new master key (the manual's procedure: new key first, the
 * old among the previous keys, rotate-encryption-key, then the old key removed), are imported by
 * `s3o sync` into a fresh database with the new key alone and read back byte for byte, with the
 * ETags, sizes and key facts their writes had.
 */
describeOnEachBackend('s3o sync recovers encrypted objects from backend bytes and the master key', (on) => {
  let stack: TestStack;
  let fresh: MigratedDatabase;
  let recovered: Orchestrator | undefined;
  let dir: string;
  const oldKey = randomBytes(32).toString('base64');
  const key = randomBytes(32).toString('base64');
  let writtenKeyIds: string[] = [];
  const singles = new Map<string, Buffer>([['small.txt', Buffer.from('small encrypted body')], ['empty', Buffer.alloc(0)], ['chunks.bin', patternBytes(5 * 4096 + 99, 3)]]);
  const parts = [patternBytes(5 * MiB, 4), patternBytes(70_000, 5)];
  const etags = new Map<string, string>();

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on, extraYaml: encryptionYaml(oldKey) });
    const s3 = stack.client('alpha');
    for (const [name, body] of singles) etags.set(name, (await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: name, Body: body }))).ETag as string);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'multi.bin' }));
    const done = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: body }));
      done.push({ PartNumber: i + 1, ETag });
    }
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'multi.bin', UploadId, MultipartUpload: { Parts: done } }));
    etags.set('multi.bin', completed.ETag as string);
    writtenKeyIds = (await stack.db.pool.query<{ id: string }>("SELECT DISTINCT encryption->'key'->>'keyId' AS id FROM objects")).rows.map((r) => r.id);
    // Rotate to the new key, then remove the old one: the backend's headers must name the new key.
    await stack.restart(encryptionYaml(key, [oldKey]));
    let out = '';
    const io = { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (out += t) } };
    const code = await adminCommand(['rotate-encryption-key', '--old-key-id', 'config-0', '--addr', stack.url, '--token', token], io, { pollIntervalMs: 50 });
    expect({ code, out }).toEqual({ code: 0, out: `${JSON.stringify({ status: 'complete', rotated: 4, failed: 0, total: 4 })}\n` });
    await stack.restart(encryptionYaml(key));
    // The log is lost: a fresh database, an orchestrator on it that knows the backend and nothing else.
    fresh = await createMigratedDatabase(10);
    recovered = await startOrchestrator(stack.config, { logger: createLogger('silent'), database: { pool: fresh.pool } });
    dir = await mkdtemp(join(tmpdir(), 's3o-sync-encrypted-'));
  });
  afterAll(async () => {
    await recovered?.stop();
    await fresh?.close();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports every rotated object readable with the new key alone: byte-identical GETs with the original ETags, sizes and key facts', async () => {
    const configFile = join(dir, 'config.yaml');
    await writeFile(configFile, stack.yaml(`${encryptionYaml(key)}\n${databaseYaml(fresh.url)}`));
    const out: string[] = [];
    // Our own keys are left alone for an hour (a write may not have committed yet): look from two hours on.
    const code = await syncCommand(['--backend', 'b1', '--bucket', 'alpha', '--config', configFile], {
      out: (l) => out.push(l), err: (l) => out.push(`! ${l}`), now: () => new Date(Date.now() + 2 * hour),
    });
    expect(out.at(-1)).toMatch(/imported 4 .*failed 0; skipped: none/);
    expect(code).toBe(0);
    const s3 = new S3Client({
      endpoint: (recovered as Orchestrator).url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: stack.buckets[0]?.accessKeyId as string, secretAccessKey: stack.buckets[0]?.secretAccessKey as string },
    });
    try {
      const expected = new Map([...singles, ['multi.bin', Buffer.concat(parts)]]);
      for (const [name, body] of expected) {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: name }));
        expect(got.ETag, name).toBe(etags.get(name));
        expect(got.ContentLength, name).toBe(body.length);
        expect((await bytesOf(Promise.resolve(got))).equals(body), name).toBe(true);
        expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: name }))).ContentLength, name).toBe(body.length);
      }
      expect(etags.get('multi.bin')).toBe(`"${multipartEtag(parts)}"`);
      expect(etags.get('small.txt')).toBe(`"${md5Hex(singles.get('small.txt') as Buffer)}"`);
      // A range across the part boundary, through the imported envelope.
      const whole = Buffer.concat(parts);
      const ranged = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'multi.bin', Range: `bytes=${5 * MiB - 10}-${5 * MiB + 10}` }));
      expect((await bytesOf(Promise.resolve(ranged))).equals(whole.subarray(5 * MiB - 10, 5 * MiB + 11))).toBe(true);
    } finally {
      s3.destroy();
    }
    // The import events carry the key facts; usage counts the stored bytes.
    const imported = (await fresh.pool.query<{ key: string; size: number; copy: number; encryption: { key: { keyAlias: string }; segments: unknown[] } }>(
      "SELECT data->>'key' AS key, (data->>'size')::int AS size, (data->'copies'->0->>'size')::int AS copy, data->'encryption' AS encryption FROM events WHERE type = 'ObjectWritten' ORDER BY 1",
    )).rows;
    expect(imported.map((r) => [r.key, r.encryption.key.keyAlias, r.encryption.segments.length])).toEqual([
      ['chunks.bin', 'config-0', 1], ['empty', 'config-0', 1], ['multi.bin', 'config-0', 2], ['small.txt', 'config-0', 1],
    ]);
    for (const r of imported) expect(r.copy, r.key).toBeGreaterThan(r.size);
    // Imported under the new key: the headers were rewritten by the rotation.
    const importedKeyIds = (await fresh.pool.query<{ id: string }>("SELECT DISTINCT encryption->'key'->>'keyId' AS id FROM objects")).rows.map((r) => r.id);
    expect(importedKeyIds).toHaveLength(1);
    expect(writtenKeyIds).toHaveLength(1);
    expect(importedKeyIds).not.toEqual(writtenKeyIds);
    const used = await fresh.pool.query<{ used: string }>("SELECT bytes_used AS used FROM backend_usage WHERE backend = 'b1'");
    expect(Number(used.rows[0]?.used)).toBe(imported.reduce((n, r) => n + r.copy, 0));
  });
});
