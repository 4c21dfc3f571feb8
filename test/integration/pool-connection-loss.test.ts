import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, isUnavailable } from '../../infra/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The database drops a connection that a caller has checked out of the pool and is not using at
 * that moment (a transaction between two queries, a job holding its lease). pg reports it as an
 * 'error' event on the client, which the pool listens for only while the client is idle: an
 * event nobody listens for is an uncaught exception (vitest fails the run with it).
 */
describe('a pooled connection lost while checked out', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('raises nothing uncaught; the next query on it fails as "database unavailable"', async () => {
    const client = await pool.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const ended = new Promise((resolve) => client.once('end', resolve));
    const killer = new pg.Client({ connectionString: db.url });
    await killer.connect();
    await killer.query('SELECT pg_terminate_backend($1)', [pid]);
    await killer.end();
    await ended;
    const err = await client.query('SELECT 1').then(() => undefined, (e: unknown) => e);
    expect(isUnavailable(err), String(err)).toBe(true);
    client.release(err as Error);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
