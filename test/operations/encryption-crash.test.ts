import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { createPool } from '../../infra/db/pool.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';

const objectCount = 150;
const token = 'enc-crash-token';
const marker = 'PLAINTEXT-MARKER-c0ffee';
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

function render(port: number, db: TestDatabase, s3rvers: S3rverInstance[], encryption: string[]): string {
  const url = new URL(db.url);
  return [
    'server:', `  listen_addr: "127.0.0.1:${port}"`, '  log_level: info',
    'database:', '  driver: postgres', `  host: ${url.hostname}`, `  port: ${url.port || 5432}`, `  database: ${db.name}`,
    `  user: ${decodeURIComponent(url.username) || 'postgres'}`, '  ssl_mode: disable',
    'ui:', `  admin_token: ${token}`,
    'rebalance:', '  concurrency: 2',
    'replication:', '  factor: 2', '  write_copies: 2',
    ...encryption,
    'buckets:', '  - name: alpha', '    credentials:', '      - access_key_id: ENCKEY', '        secret_access_key: enc-secret',
    'backends:',
    ...s3rvers.map((s, i) => [
      `  - name: b${i + 1}`, `    endpoint: "${s.endpoint}"`, `    bucket: ${s.bucket}`, '    access_key_id: S3RVER', '    secret_access_key: S3RVER',
      '    force_path_style: true', '    quota_bytes: 1GiB',
    ].join('\n')),
  ].join('\n');
}

const encrypted = (primary: string, previous: string[] = []) => [
  'encryption:', '  enabled: true', `  master_key: "${primary}"`, '  chunk_size: 4096',
  ...(previous.length > 0 ? ['  previous_keys:', ...previous.map((k) => `    - "${k}"`)] : []),
];

async function admin(proc: OrchestratorProcess, path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${proc.url}/admin/api/${path}`, { method: 'POST', headers: { 'x-admin-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 400) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe('encryption jobs survive SIGKILL of the orchestrator', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let s3rvers: S3rverInstance[];
  let proc: OrchestratorProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 2 });
    s3rvers = [await startS3rver(), await startS3rver()];
  });
  afterAll(async () => {
    await proc?.cleanup();
    await pool?.end();
    await Promise.all((s3rvers ?? []).map((s) => s.stop()));
    await db?.drop();
  });

  const job = async (kind: string) =>
    (await pool.query<{ state: string; moved: string }>('SELECT state, moved FROM jobs WHERE kind = $1 ORDER BY started_at DESC LIMIT 1', [kind])).rows[0];

  /** Kills the orchestrator once the job has done `atLeast` objects (not before), and starts it again. */
  async function killWhen(kind: string, atLeast: number, port: number, config: string[]): Promise<boolean> {
    for (;;) {
      const j = await job(kind);
      if (j?.state !== 'running') return false;
      if (Number(j.moved) >= atLeast) break;
      await sleep(10);
    }
    await proc?.kill();
    proc = await startOrchestratorProcess((pt) => render(pt, db, s3rvers, config), { port });
    return true;
  }

  const perObject = async (type: string) =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE type = $1 GROUP BY stream_id', [type])).rows.map((r) => r.n);

  async function readsBack(p: OrchestratorProcess, expected: Map<string, string>): Promise<void> {
    const s3 = new S3Client({ endpoint: p.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'ENCKEY', secretAccessKey: 'enc-secret' } });
    for (const [key, sum] of expected) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(md5(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()), key).toBe(sum);
    }
    s3.destroy();
  }

  it(`encrypts ${objectCount} objects through 3 crashes and rotates their keys through 1, each object rewritten once by each job`, async () => {
    proc = await startOrchestratorProcess((port) => render(port, db, s3rvers, []));
    const port = Number(new URL(proc.url).port);
    const s3 = new S3Client({ endpoint: proc.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'ENCKEY', secretAccessKey: 'enc-secret' } });
    const expected = new Map<string, string>();
    for (let i = 0; i < objectCount; i += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        const body = Buffer.concat([Buffer.from(marker), randomBytes(((i + j) * 397) % (20 * 1024))]);
        expected.set(`o/${i + j}`, md5(body));
        await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `o/${i + j}`, Body: body }));
      }));
    }
    s3.destroy();

    // Enable encryption (restart), start encrypt-existing, kill it three times.
    await proc.stop();
    proc = await startOrchestratorProcess((pt) => render(pt, db, s3rvers, encrypted(keyA)), { port });
    expect(await admin(proc, 'encrypt-existing', { detach: true })).toMatchObject({ status: 'running', total: objectCount });
    let kills = 0;
    for (const share of [0.15, 0.4, 0.65]) if (await killWhen('encrypt-existing', Math.floor(objectCount * share), port, encrypted(keyA))) kills += 1;
    expect(kills).toBe(3);
    await expect.poll(async () => (await job('encrypt-existing'))?.state, { timeout: 120_000, interval: 200 }).toBe('completed');
    expect(await perObject('StoredBytesRewritten')).toEqual(Array(objectCount).fill(1));
    await readsBack(proc, expected);
    // Running it again finds nothing left.
    expect(await admin(proc, 'encrypt-existing', {})).toMatchObject({ status: 'complete', encrypted: 0, failed: 0, total: 0 });

    // Rotate: new primary, the old key among the previous ones; kill once during the re-wrap.
    await proc.stop();
    proc = await startOrchestratorProcess((pt) => render(pt, db, s3rvers, encrypted(keyB, [keyA])), { port });
    expect(await admin(proc, 'rotate-encryption-key', { old_key_id: 'config-0', detach: true })).toMatchObject({ status: 'running', total: objectCount });
    expect(await killWhen('rotate-encryption-key', 1, port, encrypted(keyB, [keyA]))).toBe(true);
    await expect.poll(async () => (await job('rotate-encryption-key'))?.state, { timeout: 120_000, interval: 200 }).toBe('completed');
    expect(await perObject('StoredBytesRewritten')).toEqual(Array(objectCount).fill(2));

    // The old key removed: everything still reads.
    await proc.stop();
    proc = await startOrchestratorProcess((pt) => render(pt, db, s3rvers, encrypted(keyB)), { port });
    await readsBack(proc, expected);
    const usage = await pool.query<{ used: string; live: string }>(
      'SELECT (SELECT sum(bytes_used) FROM backend_usage)::bigint AS used, (SELECT sum(size) FROM object_copies)::bigint AS live',
    );
    expect(Number(usage.rows[0]?.used)).toBe(Number(usage.rows[0]?.live));
  }, 400_000);
});
