import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../telemetry/logger.js';
import { embeddedConnectionString, PASSWORD_FILE, readPassword, requirePasswords, trustsConnections } from './embedded-postgres-auth.js';
import { locatePostgresBinaries } from './embedded-postgres-binaries.js';
import { acquireOwnerLock, type OwnerLock } from './embedded-postgres-lock.js';
import { launchPostgres, shutDownStalePostmaster, type PostgresServer } from './embedded-postgres-server.js';
import { ensureReachable, dataDirState, initialiseDataDir, resolveRunAs, SUPERUSER } from './embedded-postgres-setup.js';

export { DataDirInUseError } from './embedded-postgres-lock.js';

export const DEFAULT_DATA_DIR = 'data/postgres';
const DATABASE = 's3o';

export interface EmbeddedPostgresOptions {
  /** The PostgreSQL data directory; default ./data/postgres, resolved against the working directory. */
  dataDir?: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  logger: Logger;
}

export interface EmbeddedPostgresHandle {
  /** postgres://s3o:<password>@127.0.0.1:<port>/s3o — SCRAM authentication, reachable from this host only. Never log it. */
  readonly connectionString: string;
  readonly port: number;
  /** Absolute. */
  readonly dataDir: string;
  /** Fast shutdown (escalating if it hangs), then releases the data directory. Idempotent. */
  stop(): Promise<void>;
}

interface RunningInstance {
  server: PostgresServer;
  lock: OwnerLock;
  stop(): Promise<void>;
}

const running = new Set<RunningInstance>();
let exitHookInstalled = false;

/**
 * Runs PostgreSQL from the `embedded-postgres` binaries on `dataDir`, initialising it on first
 * use. Throws DataDirInUseError if another live s3-orchestrator owns the directory; takes over
 * from one that died, stopping the server it left running.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const logger = options.logger.child({ component: 'embedded-postgres' });
  const startedAt = performance.now();
  await mkdir(dirname(dataDir), { recursive: true });
  const lock = await acquireOwnerLock(dataDir);
  let server: PostgresServer | undefined;
  let initialised = false;
  let password: string | undefined;
  try {
    let binaries = await locatePostgresBinaries();
    const state = await dataDirState(dataDir);
    const runAs = await resolveRunAs(dataDir, state, logger);
    if (runAs !== undefined) binaries = await ensureReachable(runAs, dataDir, binaries, logger);
    let trusting = false;
    if (state === 'initialised') {
      await shutDownStalePostmaster(dataDir, logger);
      password = await readPassword(dataDir);
      trusting = await trustsConnections(dataDir);
      if (password === undefined && !trusting) {
        throw new Error(
          `the superuser password file ${PASSWORD_FILE} is missing from ${dataDir}: restore it from a backup of the data ` +
          'directory, or put the password of its s3o role there (one line, readable by its owner only)',
        );
      }
    } else {
      password = await initialiseDataDir(dataDir, state, binaries, runAs, logger);
      initialised = true;
    }
    server = await launchPostgres({ binaries, dataDir, port: options.port, runAs, password, logger });
    if (trusting) password = await requirePasswords(dataDir, server.port, SUPERUSER, logger);
    await ensureDatabase(server.port, password);
  } catch (err) {
    await server?.stop().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'could not stop PostgreSQL after a failed start'));
    await lock.release().catch((releaseErr: unknown) => logger.error({ err: releaseErr }, 'could not release the data directory lock'));
    throw err;
  }
  const started = server;
  const connectionString = embeddedConnectionString(SUPERUSER, password, started.port, DATABASE);
  let stopping: Promise<void> | undefined;
  const instance: RunningInstance = {
    server: started,
    lock,
    stop: () => {
      stopping ??= (async () => {
        await started.stop();
        running.delete(instance);
        await lock.release();
        logger.info({ dataDir }, 'embedded PostgreSQL stopped');
      })();
      return stopping;
    },
  };
  running.add(instance);
  installExitHook();
  logger.info(
    { dataDir, port: started.port, initialised, startupMs: Math.round(performance.now() - startedAt) },
    'embedded PostgreSQL is ready',
  );
  return { connectionString, port: started.port, dataDir, stop: instance.stop };
}

/** For the application's shutdown path (SIGINT/SIGTERM handlers live there): stops every server this process started. */
export async function stopAllEmbeddedPostgres(): Promise<void> {
  await Promise.all([...running].map((instance) => instance.stop()));
}

/** How a command connects to the embedded server another process runs on `dataDir` (on `port`). */
export async function runningEmbeddedConnectionString(dataDir: string, port: number): Promise<string> {
  return embeddedConnectionString(SUPERUSER, await readPassword(dataDir), port, DATABASE);
}

async function ensureDatabase(port: number, password: string | undefined): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } finally {
    await client.end();
  }
}

/**
 * If Node exits without our stop() having run (an uncaught exception, process.exit), ask each
 * server for a fast shutdown, which it completes after we are gone, and free its data directory.
 * Only synchronous work runs here; signal handling belongs to the application.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const instance of running) {
      instance.server.stopSync();
      instance.lock.releaseSync();
    }
  });
}
