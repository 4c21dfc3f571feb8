import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { keepTail, serverEnv, stopChild, trackChild, waitForExit, type ChildServer } from './child.js';
import { postmasterOf, processTreeCpuSeconds } from './procfs.js';
import { BENCH_BUCKET, BENCH_CREDENTIALS } from './signing.js';
import { postgresAnswers } from '../infra/db/postgres-answers.js';

/**
 * Runs s3-orchestrator (`dist/ops/cli/main.js serve`, from the same build as this file) as a child
 * process with one backend, the benchmark upstream, on a database created for this run.
 */

/** S3O_BENCH_PG_URL points the run at another server (e.g. one with pg_stat_statements preloaded). */
const LOCAL_ADMIN_URL = process.env.S3O_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const READY_TIMEOUT_MS = 60_000;
const CLI = fileURLToPath(new URL('../ops/cli/main.js', import.meta.url));

export interface DatabaseServer {
  host: string;
  port: number;
  user: string;
  adminUrl: string;
  /** 'local' (127.0.0.1:5432) or 'embedded'. */
  kind: string;
  stop(): Promise<void>;
}

export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Reads the CPU time of every process of the PostgreSQL server at `adminUrl` (backends, WAL
 * writer, checkpointer, …) when it runs on this machine, else undefined. Only a server of its
 * own (S3O_BENCH_PG_URL) gives the bench's share alone.
 */
export async function databaseCpuReader(adminUrl = LOCAL_ADMIN_URL): Promise<(() => Promise<number>) | undefined> {
  if (!(await postgresAnswers(adminUrl))) return undefined;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const backend = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
    const postmaster = await postmasterOf(backend);
    return postmaster === undefined ? undefined : () => processTreeCpuSeconds(postmaster);
  } finally {
    await client.end();
  }
}

/** The local server on 5432 when it answers, else an embedded PostgreSQL in a temp directory. */
export async function databaseServer(): Promise<DatabaseServer> {
  if (await postgresAnswers(LOCAL_ADMIN_URL)) {
    const url = new URL(LOCAL_ADMIN_URL);
    return {
      host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username || 'postgres'), adminUrl: LOCAL_ADMIN_URL,
      kind: `local (${url.host})`, stop: async () => {},
    };
  }
  const { startEmbeddedPostgres } = await import('../infra/db/embedded-postgres.js');
  const { createLogger } = await import('../infra/telemetry/logger.js');
  const parent = await mkdtemp(join(tmpdir(), 's3o-bench-pg-'));
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter the directory.
  await chmod(parent, 0o755);
  const embedded = await startEmbeddedPostgres({ dataDir: join(parent, 'data'), logger: createLogger('warn') });
  return {
    host: '127.0.0.1',
    port: embedded.port,
    user: 's3o',
    adminUrl: embedded.connectionString.replace(/\/s3o$/, '/postgres'),
    kind: `embedded (port ${embedded.port})`,
    stop: async () => {
      await embedded.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** `gateway-encrypted`: encryption at rest on, a master key made for this run, the default chunk size. */
function encryptionYaml(): string {
  return `encryption:
  enabled: true
  master_key: "${randomBytes(32).toString('base64')}"
`;
}

function configYaml(port: number, db: DatabaseServer, database: string, upstream: string): string {
  return `server:
  listen_addr: "127.0.0.1:${port}"
  log_level: warn
database:
  driver: postgres
  host: ${db.host}
  port: ${db.port}
  database: ${database}
  user: ${db.user}
  ssl_mode: disable
  single_writer: ${process.env.S3O_BENCH_SHARED_DATABASE === '1' ? 'false' : 'true'}
buckets:
  - name: ${BENCH_BUCKET}
    credentials:
      - access_key_id: ${BENCH_CREDENTIALS.accessKeyId}
        secret_access_key: ${BENCH_CREDENTIALS.secretAccessKey}
backends:
  - name: upstream
    endpoint: "${upstream}"
    region: us-east-1
    bucket: ${BENCH_BUCKET}
    access_key_id: x
    secret_access_key: y
    force_path_style: true
    quota_bytes: 0
`;
}

async function isReady(origin: string): Promise<boolean> {
  try {
    const res = await request(`${origin}/health/ready`, { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

export interface GatewayInstance extends ChildServer {
  /** Where its database lives, for the report. */
  database: string;
}

/** A database that outlives the run (the 1M-object one): used as it is, neither created nor dropped. */
export interface KeptDatabase {
  server: DatabaseServer;
  name: string;
}

/**
 * Starts the gateway; throws with a one-line reason if it cannot be started or never gets ready.
 * `extraYaml`: top-level config sections appended to the bench's own (e.g. `cache:` for gateway-cache).
 */
export async function startGateway(
  upstream: string, kept?: KeptDatabase, name = 'gateway', options: { encrypted?: boolean; extraYaml?: string } = {},
): Promise<GatewayInstance> {
  try {
    await access(CLI);
  } catch {
    throw new Error(`${CLI} not found (run npm run build; the serve command may not exist yet)`);
  }
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(`bench cleanup: ${String(err)}`));
    cleanups.length = 0;
  };
  try {
    let db: DatabaseServer;
    let database: string;
    if (kept) {
      db = kept.server;
      database = kept.name;
    } else {
      db = await databaseServer();
      cleanups.push(() => db.stop());
      database = `s3o_bench_${randomBytes(5).toString('hex')}`;
      await adminQuery(db.adminUrl, `CREATE DATABASE ${database}`);
      cleanups.push(() => adminQuery(db.adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    }
    const dir = await mkdtemp(join(tmpdir(), 's3o-bench-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    const configFile = join(dir, 'config.yaml');
    await writeFile(configFile, `${configYaml(port, db, database, upstream)}${options.encrypted ? encryptionYaml() : ''}${options.extraYaml ?? ''}`, { mode: 0o600 });

    // S3O_BENCH_GATEWAY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the gateway alone.
    const nodeArgs = (process.env.S3O_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--config', configFile], { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    cleanups.push(() => stopChild(child, 15_000));
    const stdoutTail = keepTail(child.stdout);
    const stderrTail = keepTail(child.stderr);
    const output = (): string => `${stderrTail()}${stdoutTail()}`.trim().split('\n').slice(-5).map((l) => l.slice(0, 400)).join(' | ');
    const origin = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await isReady(origin))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`serve exited with ${child.signalCode ?? child.exitCode}: ${output()}`);
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s: ${output()}`);
      await waitForExit(child, 200);
    }
    if (child.pid === undefined) throw new Error('serve has no pid');
    let stopping: Promise<void> | undefined;
    return {
      name,
      pid: child.pid,
      origin,
      database: `${database} on ${db.kind} PostgreSQL`,
      stop: () => (stopping ??= cleanUp()),
      outputTail: output,
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
