import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchema } from '../../projections/schema/plan.js';
import { createPool } from '../../infra/db/pool.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../infra/db/embedded-postgres.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startOrchestrator, type Orchestrator } from '../../ops/app.js';
import { parseOrThrow } from '../support/orchestrator.js';
import { s3rverCredentials, startS3rver, type S3rverInstance } from '../support/s3rver.js';

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe('the database stops mid-traffic (its own PostgreSQL, stopped and started by the test)', () => {
  let dir: string;
  let pg: EmbeddedPostgresHandle;
  let s3rvers: S3rverInstance[];
  let orchestrator: Orchestrator;
  let s3: S3Client;
  const pool = () => orchestrator.services.pool;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3o-outage-'));
    await chmod(dir, 0o755);
    pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), logger: createLogger('silent') });
    s3rvers = [await startS3rver(), await startS3rver()];
    const dbPool = createPool({ connectionString: pg.connectionString, max: 8 });
    await migrateSchema(dbPool);
    const config = parseOrThrow([
      'server:',
      '  listen_addr: "127.0.0.1:0"',
      'circuit_breaker:',
      '  failure_threshold: 2',
      '  open_timeout: 500ms',
      'buckets:',
      '  - name: alpha',
      '    credentials: [{ access_key_id: OUTKEY, secret_access_key: out-secret }]',
      'backends:',
      ...s3rvers.map((s, i) => `  - { name: b${i + 1}, endpoint: "${s.endpoint}", bucket: ${s.bucket}, access_key_id: ${s3rverCredentials.accessKeyId}, secret_access_key: ${s3rverCredentials.secretAccessKey}, force_path_style: true }`),
      'replication:',
      '  factor: 2',
      'telemetry:',
      '  metrics:',
      '    enabled: true',
    ].join('\n'));
    orchestrator = await startOrchestrator(config, { logger: createLogger('silent'), database: { pool: dbPool } });
    s3 = new S3Client({ endpoint: orchestrator.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'OUTKEY', secretAccessKey: 'out-secret' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    s3?.destroy();
    await orchestrator?.stop();
    await orchestrator?.services.pool.end().catch(() => undefined);
    await pg?.stop();
    await Promise.all((s3rvers ?? []).map((s) => s.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads keep working, writes and listings get 503, health says degraded, and all recovers by itself', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'seen', Body: 'read before the outage', ContentType: 'text/plain', Metadata: { kept: 'yes' } }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'unseen', Body: 'never read before the outage' }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'unseen', Body: 'the newer version of unseen' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'seen' }))).Body?.transformToString()).toBe('read before the outage');

    await pg.stop();
    // Reads during the outage: from the location cache (with metadata), then from the backends.
    const seen = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'seen' }));
    expect(await seen.Body?.transformToString()).toBe('read before the outage');
    expect(seen.Metadata).toEqual({ kept: 'yes' });
    const unseen = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'unseen' }));
    expect(await unseen.Body?.transformToString()).toBe('the newer version of unseen');
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'seen' }))).ContentLength).toBe(22);
    await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'missing' }))).rejects.toSatisfy((e) => status(e) === 404);

    const write = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'during', Body: 'x' })).catch((e: unknown) => e);
    expect(status(write)).toBe(503);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' })).catch((e: unknown) => e);
    expect(status(list)).toBe(503);
    await expect.poll(async () => ((await (await fetch(`${orchestrator.url}/health`)).json()) as { status: string }).status).toBe('degraded');

    pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pg.port, logger: createLogger('silent') });
    await expect.poll(async () => ((await (await fetch(`${orchestrator.url}/health`)).json()) as { status: string }).status, { timeout: 20_000 }).toBe('ok');
    await expect.poll(async () => {
      const r = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'after', Body: 'written after the outage' })).then(() => 200, (e: unknown) => status(e));
      return r;
    }, { timeout: 20_000 }).toBe(200);
    // Nothing committed before the outage was lost.
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }))).Contents?.map((c) => c.Key);
    expect(keys).toEqual(['after', 'seen', 'unseen']);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'unseen' }))).Body?.transformToString()).toBe('the newer version of unseen');
    const metrics = await (await fetch(`${orchestrator.url}/metrics`)).text();
    const sample = (series: RegExp) => Number(metrics.match(series)?.[1] ?? 0);
    expect(sample(/s3o_degraded_reads_total (\d+)/)).toBeGreaterThanOrEqual(3);
    // The GET and the HEAD of `seen` were answered from the versions seen before the outage.
    expect(sample(/s3o_degraded_cache_hits_total (\d+)/)).toBeGreaterThanOrEqual(2);
    expect(sample(/s3o_degraded_write_rejections_total\{operation="PutObject"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(sample(/s3o_degraded_write_rejections_total\{operation="ListObjectsV2"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect((await pool().query('SELECT count(*)::int AS n FROM objects')).rows[0].n).toBe(3);
  });
});
