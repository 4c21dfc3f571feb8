import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../infra/db/pool.js';
import { acquireExclusive, Leases } from '../../processes/leases.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/** The backend pid holding the advisory lock of this database's lease (there is one at a time here). */
async function lockHolderPid(pool: pg.Pool): Promise<number> {
  const res = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  const pid = res.rows[0]?.pid;
  if (pid === undefined) throw new Error('no advisory lock is held');
  return pid;
}

/** Terminates a server session and resolves once the pool has seen its client go. */
async function terminateAndWaitForRemoval(pool: pg.Pool, admin: pg.Pool, pid: number): Promise<void> {
  const removed = new Promise<void>((resolve) => pool.once('remove', () => resolve()));
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await removed;
}

describe('exclusive leases (advisory lock on a dedicated connection)', () => {
  let db: MigratedDatabase;
  let admin: pg.Pool;
  beforeAll(async () => {
    db = await createMigratedDatabase(4);
    admin = createPool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await admin?.end();
    await db?.close();
  });

  it('reports the loss of the connection while the lease is held', async () => {
    const lease = await acquireExclusive(db.pool, new Leases(db.pool, 'holder'), 'job:held');
    expect(lease).toBeDefined();
    const pid = await lockHolderPid(db.pool);
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await lease?.lost;
    await lease?.release();
    // The client hears of the loss before the server's backend has exited and let go of the lock.
    await expect.poll(async () => (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.n, { timeout: 30_000, interval: 20 }).toBe(0);
    // The lock went with the session: another owner takes it at once.
    const next = await acquireExclusive(db.pool, new Leases(db.pool, 'next'), 'job:held');
    expect(next?.token).toBe((lease?.token ?? 0) + 1);
    await next?.release();
  });

  it('a released lease is not "lost" when its pooled connection ends later (no warning for finished jobs)', async () => {
    const lease = await acquireExclusive(db.pool, new Leases(db.pool, 'finisher'), 'job:finished');
    if (!lease) throw new Error('lease not acquired');
    const pid = await lockHolderPid(db.pool);
    let lost = false;
    void lease.lost.then(() => (lost = true));
    await lease.release();
    // The same connection, now idle in the pool, is closed by the server (as an idle timeout or a restart would).
    await terminateAndWaitForRemoval(db.pool, admin, pid);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lost).toBe(false);
  });
});

describe('Leases.runExclusive within one instance', () => {
  let db: MigratedDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase(4);
  });
  afterAll(async () => db?.close());

  it('runs a second pass of the same lease after the first, not beside it (a tick and an operator\'s request)', async () => {
    const leases = new Leases(db.pool, 'one-instance');
    const steps: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => { releaseFirst = resolve; });
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => { firstStarted = resolve; });
    const first = leases.runExclusive('worker:test', async () => {
      steps.push('first start');
      firstStarted();
      await firstHolds;
      steps.push('first end');
      return 1;
    });
    await started;
    const second = leases.runExclusive('worker:test', async () => {
      steps.push('second');
      return 2;
    });
    // Another lease name is not held up by it.
    expect(await leases.runExclusive('worker:other', async () => 'other')).toBe('other');
    releaseFirst();
    expect([await first, await second]).toEqual([1, 2]);
    expect(steps).toEqual(['first start', 'first end', 'second']);
  });

  it('runs the next pass after one that failed', async () => {
    const leases = new Leases(db.pool, 'one-instance-failing');
    await expect(leases.runExclusive('worker:test', () => Promise.reject(new Error('pass failed')))).rejects.toThrow('pass failed');
    expect(await leases.runExclusive('worker:test', async () => 'next')).toBe('next');
  });

  it('still refuses while another instance holds the lease', async () => {
    const holder = new Leases(db.pool, 'holder');
    const other = new Leases(db.pool, 'other');
    let release!: () => void;
    const holding = new Promise<void>((resolve) => { release = resolve; });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => { entered = resolve; });
    const held = holder.runExclusive('worker:shared', async () => {
      entered();
      await holding;
    });
    await inside;
    expect(await other.runExclusive('worker:shared', async () => 'ran')).toBeUndefined();
    release();
    await held;
  });
});
