import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../infra/telemetry/logger.js';
import { parseConfigText, startOrchestrator, type Orchestrator } from '../ops/index.js';
import { adminQuery, databaseServer, type DatabaseServer } from './gateway.js';
import { sendAll } from './load.js';
import { BENCH_BUCKET, BENCH_CREDENTIALS, BenchSigner } from './signing.js';
import { createUpstreamServer } from './upstream.js';

/**
 * Drain throughput: two fast upstreams (bench/upstream.ts, in this process), the orchestrator
 * in this process too on a fresh database, `objects` small objects PUT onto the first backend
 * while it is the only one, then the second added and the first drained. The figure is objects
 * per second from the drain's start to the backend being drained (every copy moved and its
 * source deleted), with the process's CPU time per object and the load average.
 */

export interface DrainBenchResult {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  cpuMsPerObject: number;
  concurrency: number;
  load: number;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function configYaml(db: DatabaseServer, database: string, upstreams: readonly string[], concurrency: number): string {
  return `server:
  listen_addr: "127.0.0.1:0"
  log_level: warn
database:
  driver: postgres
  host: ${db.host}
  port: ${db.port}
  database: ${database}
  user: ${db.user}
  ssl_mode: disable
buckets:
  - name: ${BENCH_BUCKET}
    credentials:
      - access_key_id: ${BENCH_CREDENTIALS.accessKeyId}
        secret_access_key: ${BENCH_CREDENTIALS.secretAccessKey}
rebalance:
  concurrency: ${concurrency}
backends:
${upstreams.map((u, i) => `  - name: drain${i}
    endpoint: "${u}"
    region: us-east-1
    bucket: drain-bench-${i}
    access_key_id: x
    secret_access_key: y
    force_path_style: true
    quota_bytes: 10737418240`).join('\n')}
`;
}

async function start(yaml: string): Promise<Orchestrator> {
  const parsed = parseConfigText(yaml, {});
  if (!parsed.ok) throw new Error(`drain bench config invalid: ${parsed.errors.join('; ')}`);
  return startOrchestrator(parsed.config, { logger: createLogger('warn') });
}

export interface DrainBenchOptions {
  objects: number;
  size: number;
  concurrency: number;
  /** Called just before the drain starts and once it has ended (to profile the drain alone). */
  around?: { before(): Promise<void>; after(): Promise<void> };
}

export async function runDrainBench(opts: DrainBenchOptions): Promise<DrainBenchResult> {
  const upstreams = [createUpstreamServer(), createUpstreamServer()];
  const db = await databaseServer();
  const database = `s3o_bench_drain_${randomBytes(5).toString('hex')}`;
  let orchestrator: Orchestrator | undefined;
  try {
    const origins = await Promise.all(upstreams.map(listen));
    await adminQuery(db.adminUrl, `CREATE DATABASE ${database}`);
    orchestrator = await start(configYaml(db, database, origins.slice(0, 1), opts.concurrency));
    const body = randomBytes(opts.size);
    const signer = new BenchSigner(orchestrator.url);
    const keys = Array.from({ length: opts.objects }, (_, i) => `drain/${i}`);
    const puts = (await signer.signAll('PUT', keys, body.length)).map((r) => ({ ...r, body }));
    await sendAll(orchestrator.url, puts, 16);
    await orchestrator.stop();
    orchestrator = await start(configYaml(db, database, origins, opts.concurrency));

    const admin = orchestrator.services.backendAdmin;
    await opts.around?.before();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const jobId = await admin.startDrain('drain0', { actor: 'operator:bench' });
    // One primary-key read per look (the full drain status makes three), so watching costs the drain little.
    while ((await orchestrator.services.pool.query<{ state: string }>('SELECT state FROM jobs WHERE job_id = $1', [jobId])).rows[0]?.state === 'running') {
      await sleep(50);
    }
    const status = await admin.drainStatus('drain0');
    if (status.state !== 'drained') throw new Error(`the drain stopped with the backend ${status.state}`);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await opts.around?.after();
    const moved = Number((await orchestrator.services.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM object_copies WHERE backend = 'drain1'")).rows[0]?.n);
    if (moved !== opts.objects) throw new Error(`${moved} of ${opts.objects} objects are on the target after the drain`);
    return {
      objects: moved, seconds, objectsPerSecond: moved / seconds, cpuMsPerObject: (used.user + used.system) / 1000 / moved,
      concurrency: opts.concurrency, load: loadavg()[0] ?? 0,
    };
  } finally {
    await orchestrator?.stop().catch(() => undefined);
    await Promise.all(upstreams.map((u) => new Promise((done) => u.close(done))));
    await adminQuery(db.adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await db.stop();
  }
}
