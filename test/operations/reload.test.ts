import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { createPool } from '../../infra/db/pool.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';

interface Cred { id: string; secret: string }

/** The operator's config file, rendered from what the procedure changes. */
function render(o: { port: number; db: TestDatabase; s3rvers: S3rverInstance[]; creds: Cred[]; quotas: number[]; logLevel?: string; listen?: string; apiLimit?: number }): string {
  const url = new URL(o.db.url);
  return [
    'server:',
    `  listen_addr: "${o.listen ?? `127.0.0.1:${o.port}`}"`,
    `  log_level: ${o.logLevel ?? 'info'}`,
    'database:',
    '  driver: postgres',
    `  host: ${url.hostname}`,
    `  port: ${url.port || 5432}`,
    `  database: ${o.db.name}`,
    `  user: ${decodeURIComponent(url.username) || 'postgres'}`,
    '  ssl_mode: disable',
    'buckets:',
    '  - name: alpha',
    '    credentials:',
    ...o.creds.map((c) => `      - access_key_id: ${c.id}\n        secret_access_key: ${c.secret}`),
    'backends:',
    ...o.s3rvers.map((s, i) => [
      `  - name: b${i + 1}`,
      `    endpoint: "${s.endpoint}"`,
      `    bucket: ${s.bucket}`,
      '    access_key_id: S3RVER',
      '    secret_access_key: S3RVER',
      '    force_path_style: true',
      `    quota_bytes: ${o.quotas[i] ?? 1000000}`,
      `    api_request_limit: ${o.apiLimit ?? 0}`,
    ].join('\n')),
  ].join('\n');
}

const client = (url: string, c: Cred) =>
  new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: c.id, secretAccessKey: c.secret }, maxAttempts: 1 });

async function canList(url: string, c: Cred): Promise<boolean> {
  const s3 = client(url, c);
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) return false;
    throw err;
  } finally {
    s3.destroy();
  }
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'g')) ?? []).length;

describe('configuration procedures of the operations manual (real process, SIGHUP)', () => {
  let db: TestDatabase;
  let s3rvers: S3rverInstance[];
  let proc: OrchestratorProcess;
  let pool: pg.Pool;
  const oldCred = { id: 'OLDKEY', secret: 'old-secret' };
  const newCred = { id: 'NEWKEY', secret: 'new-secret' };

  async function hupAndWait(yaml: string, done: RegExp = /configuration reloaded/): Promise<void> {
    const before = count(proc.output(), done);
    await proc.writeConfig(yaml);
    proc.signal('SIGHUP');
    // A bound only (the loop waits for the log line): a reload can take seconds on a busy machine.
    const deadline = Date.now() + 60_000;
    while (count(proc.output(), done) === before) {
      if (Date.now() > deadline) throw new Error(`no "${done.source}" after SIGHUP:\n${proc.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

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

  it('rotates client credentials without downtime: both work after SIGHUP, the old one is refused after the next', async () => {
    proc = await startOrchestratorProcess((port) => render({ port, db, s3rvers, creds: [oldCred], quotas: [1_000_000, 1_000_000] }));
    const port = Number(new URL(proc.url).port);
    expect(await canList(proc.url, oldCred)).toBe(true);
    expect(await canList(proc.url, newCred)).toBe(false);
    await hupAndWait(render({ port, db, s3rvers, creds: [oldCred, newCred], quotas: [1_000_000, 1_000_000] }));
    expect(await canList(proc.url, oldCred)).toBe(true);
    expect(await canList(proc.url, newCred)).toBe(true);
    await hupAndWait(render({ port, db, s3rvers, creds: [newCred], quotas: [1_000_000, 1_000_000] }));
    expect(await canList(proc.url, oldCred)).toBe(false);
    expect(await canList(proc.url, newCred)).toBe(true);
  });

  it('keeps the whole current configuration when the new file is invalid', async () => {
    const port = Number(new URL(proc.url).port);
    const broken = render({ port, db, s3rvers, creds: [oldCred], quotas: [1_000_000, 1_000_000] }).replace('quota_bytes: 1000000', 'quota_bytes: -5');
    await hupAndWait(broken, /configuration reload rejected/);
    expect(proc.output()).toMatch(/quota_bytes/);
    expect(await canList(proc.url, newCred)).toBe(true);
    expect(await canList(proc.url, oldCred)).toBe(false);
  });

  it('changes quotas at once: recorded as backend events and enforced', async () => {
    const port = Number(new URL(proc.url).port);
    await hupAndWait(render({ port, db, s3rvers, creds: [newCred], quotas: [100, 100] }));
    const events = (await pool.query("SELECT stream_id, data->'limits'->>'quotaBytes' AS q FROM events WHERE type = 'BackendLimitsChanged' ORDER BY seq")).rows;
    expect(events).toEqual([{ stream_id: 'backend-b1', q: '100' }, { stream_id: 'backend-b2', q: '100' }]);
    const s3 = client(proc.url, newCred);
    await expect(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'too-big', Body: Buffer.alloc(150) }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 507 },
    });
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'fits', Body: Buffer.alloc(80) }));
    s3.destroy();
  });

  it('applies the reloadable part and warns by name about fields that need a restart', async () => {
    const port = Number(new URL(proc.url).port);
    await hupAndWait(render({ port, db, s3rvers, creds: [newCred], quotas: [1_000_000, 1_000_000], listen: `127.0.0.1:${port + 1}`, apiLimit: 5000 }));
    expect(proc.output()).toMatch(/server\.listen_addr changed but only takes effect after a restart/);
    expect(await canList(proc.url, newCred)).toBe(true);
    const limits = (await pool.query("SELECT data->'limits'->>'apiRequestLimit' AS l FROM events WHERE type = 'BackendLimitsChanged' ORDER BY seq DESC LIMIT 1")).rows[0];
    expect(limits).toEqual({ l: '5000' });
  });

  it('a backend added to the config is registered at restart and takes writes', async () => {
    const port = Number(new URL(proc.url).port);
    expect(await proc.stop()).toBe(0);
    s3rvers.push(await startS3rver());
    proc = await startOrchestratorProcess((p) => render({ port: p, db, s3rvers, creds: [newCred], quotas: [10, 10, 1_000_000] }), { port });
    const registered = (await pool.query("SELECT stream_id FROM events WHERE type = 'BackendRegistered' ORDER BY seq")).rows.map((r: { stream_id: string }) => r.stream_id);
    expect(registered).toEqual(['backend-b1', 'backend-b2', 'backend-b3']);
    const s3 = client(proc.url, newCred);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'on-new-backend', Body: Buffer.alloc(500) }));
    s3.destroy();
    const copy = (await pool.query("SELECT backend FROM object_copies WHERE key = 'on-new-backend'")).rows;
    expect(copy).toEqual([{ backend: 'b3' }]);
  });

  it('shuts down gracefully on SIGTERM, and the test leaves no s3o-proc-* directory behind', async () => {
    expect(await proc.stop()).toBe(0);
    expect(proc.output()).toMatch(/s3-orchestrator stopped/);
    expect(existsSync(dirname(proc.configPath))).toBe(false);
  });
});
