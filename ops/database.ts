import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import {
  DataDirInUseError, runningEmbeddedConnectionString, startEmbeddedPostgres, type EmbeddedPostgresHandle,
} from '../infra/db/embedded-postgres.js';
import { createPool } from '../infra/db/pool.js';
import type { Logger } from '../infra/telemetry/logger.js';
import type { DatabaseConfig, PostgresDatabaseConfig } from '../domain/config/config.js';

export interface DatabaseHandle {
  pool: pg.Pool;
  /** For logs: never contains a password. */
  description: string;
  embedded: EmbeddedPostgresHandle | undefined;
  close(): Promise<void>;
}

function sslOption(mode: PostgresDatabaseConfig['ssl_mode']): pg.PoolConfig['ssl'] {
  switch (mode) {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      return false;
  }
}

function postgresUrl(c: PostgresDatabaseConfig): string {
  const url = new URL('postgres://localhost');
  url.hostname = c.host;
  url.port = String(c.port);
  url.pathname = `/${encodeURIComponent(c.database)}`;
  url.username = encodeURIComponent(c.user);
  if (c.password) url.password = encodeURIComponent(c.password);
  return url.toString();
}

/** The port of the embedded server another process runs on `dataDir` (postmaster.pid line 4). */
async function runningEmbeddedPort(dataDir: string): Promise<number> {
  const pid = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
  const port = Number(pid.split('\n')[3]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`cannot read the port of the running database in ${dataDir}`);
  return port;
}

/**
 * Opens the configured database. `server`: the orchestrator itself, which owns an embedded
 * server (a second orchestrator on the same data directory fails fast). `client`: a CLI
 * command, which connects to the embedded server a running orchestrator owns, or starts one
 * for the duration of the command.
 */
export async function openDatabase(config: DatabaseConfig, logger: Logger, role: 'server' | 'client'): Promise<DatabaseHandle> {
  const poolOptions = { max: config.max_conns, min: config.min_conns, maxLifetimeSeconds: Math.ceil(config.max_conn_lifetime / 1000) };
  if (config.driver === 'postgres') {
    const pool = createPool({ connectionString: postgresUrl(config), ssl: sslOption(config.ssl_mode), ...poolOptions });
    return {
      pool,
      description: `postgres ${config.user}@${config.host}:${config.port}/${config.database}`,
      embedded: undefined,
      close: () => pool.end(),
    };
  }
  const dataDir = resolve(config.path);
  try {
    const embedded = await startEmbeddedPostgres({ dataDir, port: config.port ?? undefined, logger });
    const pool = createPool({ connectionString: embedded.connectionString, ...poolOptions });
    return {
      pool,
      description: `embedded PostgreSQL in ${dataDir} (127.0.0.1:${embedded.port})`,
      embedded,
      close: async () => {
        await pool.end();
        await embedded.stop();
      },
    };
  } catch (err) {
    if (!(err instanceof DataDirInUseError) || role === 'server') throw err;
    const port = await runningEmbeddedPort(dataDir);
    const pool = createPool({ connectionString: await runningEmbeddedConnectionString(dataDir, port), max: 4 });
    return { pool, description: `embedded PostgreSQL of the running orchestrator (127.0.0.1:${port})`, embedded: undefined, close: () => pool.end() };
  }
}
