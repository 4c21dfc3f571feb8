import pg from 'pg';
import { StoreUnavailableError } from '../../domain/eventstore/errors.js';

export interface PoolOptions {
  connectionString: string;
  max?: number;
  min?: number;
  maxLifetimeSeconds?: number;
  applicationName?: string;
  ssl?: pg.PoolConfig['ssl'];
}

/**
 * Creates the shared pg pool. Sessions get an idle-in-transaction timeout so a stuck client
 * cannot hold back the xmin horizon that gap-safe readers wait on.
 */
export function createPool(opts: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    min: opts.min ?? 0,
    maxLifetimeSeconds: opts.maxLifetimeSeconds ?? 300,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: opts.applicationName ?? 's3-orchestrator',
    options: '-c idle_in_transaction_session_timeout=60000',
    ssl: opts.ssl,
  });
  // A client losing its connection must not crash the process; the next query on it reports it.
  // The pool's listener covers idle clients only: it is removed while a client is checked out
  // (a transaction between two queries, a job holding its lease), and pg emits the error then
  // with no listener, an uncaught exception (ECONNRESET when the database stops).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300']);

/** True for failures that mean "the database is not reachable", not "the query was wrong". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && (unavailableCodes.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(err.message);
}

export function asStoreError(err: unknown): unknown {
  return isUnavailable(err) ? new StoreUnavailableError('database unavailable', { cause: err }) : err;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw asStoreError(err);
  }
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw asStoreError(err);
  } finally {
    client.release();
  }
}
