import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand,
  S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';

const token = 'cache-t0k3n';
const cacheYaml = [
  `ui:\n  admin_token: ${token}`,
  'telemetry:\n  metrics:\n    enabled: true',
  'cache:\n  enabled: true\n  max_size: 8MiB\n  max_object_size: 1MiB\n  ttl: 10m',
].join('\n');

/** Instance A in this process, instance B a separate `s3o serve` process on the same database and backends. */
describe('the object cache across two instances on one database', () => {
  let stack: TestStack;
  let b: OrchestratorProcess;
  let onA: S3Client;
  let onB: S3Client;

  const metric = async (url: string, series: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? 0);
  };
  const get = async (s3: S3Client, key: string): Promise<Buffer> => {
    const res = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };
  const admin = async (addr: string, ...argv: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await adminCommand(['--addr', addr, '--token', token, ...argv], {
      out: { write: (s: string) => (out += s), isTTY: false },
      err: { write: (s: string) => (out += s) },
    });
    return { code, out };
  };
  /** Writes `body` to `key` through A, each way a key gets a new version. */
  async function writeOnA(key: string, body: Buffer, how: 'put' | 'copy' | 'multipart'): Promise<void> {
    if (how === 'put') {
      await onA.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
    } else if (how === 'copy') {
      await onA.send(new PutObjectCommand({ Bucket: 'alpha', Key: `${key}.source`, Body: body }));
      await onA.send(new CopyObjectCommand({ Bucket: 'alpha', Key: key, CopySource: `alpha/${encodeURIComponent(key)}.source` }));
    } else {
      const { UploadId } = await onA.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }));
      const { ETag } = await onA.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId, PartNumber: 1, Body: body }));
      await onA.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    }
  }

  beforeAll(async () => {
    stack = await startStack({ extraYaml: cacheYaml });
    const db = new URL(stack.db.url);
    const database = [
      'database:', '  driver: postgres', `  host: ${db.hostname}`, `  port: ${db.port || 5432}`, `  database: ${stack.db.name}`,
      `  user: ${decodeURIComponent(db.username) || 'postgres'}`, '  ssl_mode: disable',
    ].join('\n');
    b = await startOrchestratorProcess((port) => `${stack.yaml(cacheYaml)}\n${database}\n`
      .replace('listen_addr: "127.0.0.1:0"', `listen_addr: "127.0.0.1:${port}"`)
      .replace('log_level: warn', 'log_level: info'));
    onA = stack.client();
    const creds = stack.buckets[0]!;
    onB = new S3Client({
      endpoint: b.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    });
  }, 120_000);
  afterAll(async () => {
    onB?.destroy();
    await b?.stop();
    await stack?.stop();
  });

  it('a read on B right after a change committed on A never returns the old bytes', async () => {
    const hitsBefore = await metric(b.url, 's3o_cache_hits_total');
    let current = randomBytes(2000);
    await writeOnA('contended', current, 'put');
    const ways = ['put', 'copy', 'multipart'] as const;
    for (let i = 0; i < 24; i++) {
      // B holds the current version: the second read is served from its cache.
      expect(await get(onB, 'contended')).toEqual(current);
      expect(await get(onB, 'contended')).toEqual(current);
      const next = randomBytes(2000 + i);
      await writeOnA('contended', next, ways[i % 3] as (typeof ways)[number]);
      // The write has committed (A answered): B's very next read is the new version.
      expect(await get(onB, 'contended'), `round ${i} (${ways[i % 3]})`).toEqual(next);
      current = next;
    }
    // Most second reads are hits; a notice of an older version arriving late can drop one early.
    expect(await metric(b.url, 's3o_cache_hits_total') - hitsBefore).toBeGreaterThanOrEqual(8);
    await onA.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'contended' }));
    await expect(get(onB, 'contended')).rejects.toMatchObject({ name: 'NoSuchKey' });
  }, 300_000);

  it("A's commits drop B's entries when their notice arrives, without a read on B", async () => {
    // B holds nothing once the notices of earlier changes (the last test's delete) have arrived:
    // counted before that, an entry they drop later would pass for this one.
    await expect.poll(() => metric(b.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(0);
    await onA.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'noticed', Body: randomBytes(3000) }));
    await get(onB, 'noticed');
    expect(await metric(b.url, 's3o_cache_entries')).toBe(1);
    await onA.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'noticed', Body: randomBytes(3000) }));
    await expect.poll(() => metric(b.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(0);
  });

  it('s3o admin cache-stats, cache-invalidate, cache-invalidate-prefix and cache-flush; the last three on every instance', async () => {
    const keys = ['logs/1', 'logs/2', 'img/1', 'img/2'];
    for (const k of keys) await onA.send(new PutObjectCommand({ Bucket: 'alpha', Key: k, Body: randomBytes(1000) }));
    // B holds at least one entry, so the flush's arrival there is visible; A's own flush applies before it answers.
    await get(onB, 'logs/1');
    await admin(stack.url, 'cache-flush');
    expect(await metric(stack.url, 's3o_cache_entries')).toBe(0);
    await expect.poll(() => metric(b.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(0);
    for (const k of keys) {
      await get(onA, k);
      await get(onB, k);
    }
    expect(await metric(b.url, 's3o_cache_entries')).toBe(4);
    const stats = await admin(stack.url, 'cache-stats');
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(/^entries:\s+4$/m);
    expect(stats.out).toMatch(/^hit ratio:\s+\d/m);
    const json = JSON.parse((await admin(stack.url, 'cache-stats', '--json')).out) as { entries: number; size_bytes: number; max_size: number };
    expect(json).toMatchObject({ entries: 4, size_bytes: 4000, max_size: 8 * 2 ** 20 });

    const one = await admin(stack.url, 'cache-invalidate', '--key', 'alpha/img/1');
    expect(one).toMatchObject({ code: 0 });
    expect(one.out).toMatch(/alpha\/img\/1 invalidated: 1 entry dropped on .*; sent to the other instances/);
    await expect.poll(() => metric(b.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(3);
    const prefix = await admin(stack.url, 'cache-invalidate-prefix', '--prefix', 'alpha/logs/');
    expect(prefix.out).toMatch(/alpha\/logs\/ invalidated: 2 entries dropped/);
    await expect.poll(() => metric(b.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(1);
    expect(await metric(stack.url, 's3o_cache_entries')).toBe(1);
    const flush = await admin(b.url, 'cache-flush', '--json');
    expect(JSON.parse(flush.out)).toMatchObject({ status: 'ok', dropped: 1, broadcast: true });
    await expect.poll(() => metric(stack.url, 's3o_cache_entries'), { timeout: 15_000, interval: 50 }).toBe(0);
  });

  it('refuses bad input with the field named, and answers 503 while the cache is disabled', async () => {
    expect(await admin(stack.url, 'cache-invalidate', '--key', 'no-key-part')).toMatchObject({ code: 2 });
    const bad = await fetch(`${stack.url}/admin/api/cache/invalidate`, {
      method: 'POST', headers: { 'x-admin-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ key: 'alpha' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'ValidationFailed', field: 'key' });
    const help = await admin(stack.url, 'cache-invalidate-prefix', '--help');
    expect(help).toMatchObject({ code: 0 });
    expect(help.out).toMatch(/usage: s3o admin cache-invalidate-prefix \[<bucket>\/<prefix>\] \[--prefix PREFIX\]/);

    const disabled = stack.yaml(cacheYaml.replace('cache:\n  enabled: true', 'cache:\n  enabled: false'));
    const reload = await stack.orchestrator.reload(parseOrThrow(disabled));
    expect(reload.applied).toContain('cache.enabled');
    const res = await fetch(`${stack.url}/admin/api/cache/stats`, { headers: { 'x-admin-token': token } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'ServiceUnavailable', error: expect.stringMatching(/object cache is disabled \(cache\.enabled: false\)/) });
    const cli = await admin(stack.url, 'cache-flush');
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(/object cache is disabled/);
  });
});
