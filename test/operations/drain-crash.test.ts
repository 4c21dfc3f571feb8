import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { createPool } from '../../infra/db/pool.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';

const objectCount = 600;
const kills = 6;
const token = 'crash-test-token';
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

function render(port: number, db: TestDatabase, s3rvers: S3rverInstance[]): string {
  const url = new URL(db.url);
  return [
    'server:',
    `  listen_addr: "127.0.0.1:${port}"`,
    '  log_level: info',
    'database:',
    '  driver: postgres',
    `  host: ${url.hostname}`,
    `  port: ${url.port || 5432}`,
    `  database: ${db.name}`,
    `  user: ${decodeURIComponent(url.username) || 'postgres'}`,
    '  ssl_mode: disable',
    'ui:',
    `  admin_token: ${token}`,
    'rebalance:',
    '  concurrency: 2',
    // A resumed move gives up the target its killed owner had: a failed write's orphan, deleted after
    // this grace (not the product's five minutes, which would outlast the wait for an empty queue).
    'cleanup_queue:',
    '  failed_write_grace: 1s',
    'buckets:',
    '  - name: alpha',
    '    credentials:',
    '      - access_key_id: CRASHKEY',
    '        secret_access_key: crash-secret',
    'backends:',
    ...s3rvers.map((s, i) => [
      `  - name: b${i + 1}`,
      `    endpoint: "${s.endpoint}"`,
      `    bucket: ${s.bucket}`,
      '    access_key_id: S3RVER',
      '    secret_access_key: S3RVER',
      '    force_path_style: true',
      '    quota_bytes: 1GiB',
    ].join('\n')),
  ].join('\n');
}

async function admin(proc: OrchestratorProcess, method: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${proc.url}/admin/api/${path}`, { method, headers: { 'x-admin-token': token } });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function listBackend(s: S3rverInstance): Promise<Map<string, number>> {
  const c = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await c.send(new ListObjectsV2Command({ Bucket: s.bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key ?? '', o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  c.destroy();
  return out;
}

describe('drain survives SIGKILL of the orchestrator at random moments', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let s3rvers: S3rverInstance[];
  let proc: OrchestratorProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 2 });
    s3rvers = [await startS3rver(), await startS3rver(), await startS3rver()];
  });
  afterAll(async () => {
    await proc?.cleanup();
    await pool?.end();
    await Promise.all((s3rvers ?? []).map((s) => s.stop()));
    await db?.drop();
  });

  it(`drains ${objectCount} objects through ${kills} crashes and loses nothing`, async () => {
    let p = await startOrchestratorProcess((port) => render(port, db, s3rvers));
    proc = p;
    const port = Number(new URL(p.url).port);
    const s3 = new S3Client({ endpoint: p.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'CRASHKEY', secretAccessKey: 'crash-secret' } });
    const expected = new Map<string, string>();
    const keys = Array.from({ length: objectCount }, (_, i) => `data/${String(i).padStart(4, '0')}.bin`);
    for (let i = 0; i < keys.length; i += 20) {
      await Promise.all(keys.slice(i, i + 20).map(async (key, j) => {
        const body = randomBytes(1024 + ((i + j) * 997) % (48 * 1024));
        expected.set(key, md5(body));
        await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
      }));
    }
    s3.destroy();
    expect((await pool.query("SELECT count(*)::int AS n FROM object_copies WHERE backend = 'b1'")).rows[0].n).toBe(objectCount);

    await admin(p, 'POST', 'backends/b1/drain');
    let killed = 0;
    for (let round = 0; round < 40 && killed < kills; round++) {
      await sleep(150 + Math.floor(Math.random() * 700));
      const running = (await pool.query("SELECT state FROM jobs WHERE kind = 'drain'")).rows[0]?.state === 'running';
      if (!running) break;
      await p.kill();
      killed++;
      p = await startOrchestratorProcess((pt) => render(pt, db, s3rvers), { port });
      proc = p;
    }
    expect(killed).toBe(kills);

    await expect.poll(async () => (await admin(p, 'GET', 'backends/b1/drain')).state, { timeout: 120_000, interval: 500 }).toBe('drained');
    const status = await admin(p, 'GET', 'backends/b1/drain');
    expect(status).toMatchObject({ active: false, objects_remaining: 0, bytes_remaining: 0 });

    // Every object reads back byte-identical; none is lost.
    const reader = new S3Client({ endpoint: p.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'CRASHKEY', secretAccessKey: 'crash-secret' } });
    for (const [key, sum] of expected) {
      const got = await reader.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(md5(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()), key).toBe(sum);
    }
    reader.destroy();

    // No object has more copies than intended (factor 1), none on the drained backend.
    const copies = (await pool.query('SELECT key, count(*)::int AS n FROM object_copies GROUP BY key HAVING count(*) <> 1')).rows;
    expect(copies).toEqual([]);
    expect((await pool.query("SELECT count(*)::int AS n FROM object_copies WHERE backend = 'b1'")).rows[0].n).toBe(0);

    // Once cleanup ran: the backends hold exactly the live copies, and usage equals a fresh listing.
    await expect.poll(async () => (await pool.query("SELECT count(*)::int AS n FROM cleanup_queue WHERE state = 'pending'")).rows[0].n, { timeout: 90_000, interval: 1000 }).toBe(0);
    for (const [i, s] of s3rvers.entries()) {
      const name = `b${i + 1}`;
      const listed = await listBackend(s);
      const tracked = new Map((await pool.query('SELECT storage_key, size FROM object_copies WHERE backend = $1', [name])).rows.map((r: { storage_key: string; size: string }) => [r.storage_key, Number(r.size)]));
      expect([...listed.keys()].sort(), `${name} holds exactly its live copies`).toEqual([...tracked.keys()].sort());
      const usage = (await pool.query('SELECT bytes_used::bigint AS used, orphan_bytes::bigint AS orphan FROM backend_usage WHERE backend = $1', [name])).rows[0];
      expect(Number(usage.used), `${name} bytes_used`).toBe([...listed.values()].reduce((a, b) => a + b, 0));
      expect(Number(usage.orphan), `${name} orphan_bytes`).toBe(0);
    }
  }, 300_000);
});
