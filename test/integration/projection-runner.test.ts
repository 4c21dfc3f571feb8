import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../infra/db/pool.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { bucketStatsProjection } from '../../projections/async/bucket-stats/bucket-stats.js';
import { projectionStatuses, ProjectionRunner } from '../../projections/async/runner.js';
import { usageMonthlyProjection } from '../../projections/async/usage-monthly/usage-monthly.js';
import { findProjections } from '../../projections/registry.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase, untilReadable } from '../support/store.js';

const logger = createLogger('silent');

/** One step, once what it should apply is readable (see untilReadable). */
async function stepApplying(pool: pg.Pool, runner: ProjectionRunner, p: typeof bucketStatsProjection): Promise<number> {
  await untilReadable(pool);
  return runner.step(p);
}
const projections = [bucketStatsProjection, usageMonthlyProjection];

describe('async projection runner', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let objects: ObjectWriter;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    objects = new ObjectWriter(store);
    await registerBackend(store, 'b1', 0);
  });
  afterAll(async () => db.close());

  const stats = async () => (await db.pool.query('SELECT bucket, object_count::int AS n, total_bytes::int AS bytes FROM bucket_stats ORDER BY bucket')).rows;

  it('catches up, reports lag, and applies overwrites and deletes as deltas', async () => {
    await objects.write('a', 'x', 10, ['b1']);
    await objects.write('a', 'y', 20, ['b1']);
    await objects.write('a', 'x', 15, ['b1']);
    await objects.write('b', 'z', 5, ['b1']);
    await objects.delete('a', 'y');
    await store.appendToStream('usage-b1', [
      newEvent('UsageFlushed', { backend: 'b1', period: '2026-11', apiRequests: 3, egressBytes: 100, ingressBytes: 50 }),
      newEvent('UsageFlushed', { backend: 'b1', period: '2026-11', apiRequests: 2, egressBytes: 1, ingressBytes: 0 }),
    ], { expected: 'any' });
    const before = await projectionStatuses(db.pool, projections);
    expect(before.find((s) => s.name === 'bucket_stats')?.lag).toBe(5);
    const runner = new ProjectionRunner(db.pool, projections, { owner: 'one', logger });
    await runner.catchUp();
    expect(await stats()).toEqual([{ bucket: 'a', n: 1, bytes: 15 }, { bucket: 'b', n: 1, bytes: 5 }]);
    expect((await db.pool.query('SELECT api_requests::int, egress_bytes::int FROM usage_monthly')).rows).toEqual([{ api_requests: 5, egress_bytes: 101 }]);
    const after = await projectionStatuses(db.pool, projections);
    expect(after.map((s) => s.lag)).toEqual([0, 0]);
    expect(after[0]?.owner).toBe('one');
    await runner.stop();
  });

  it('never lets two instances run the same projection', async () => {
    const one = new ProjectionRunner(db.pool, projections, { owner: 'one', logger });
    const two = new ProjectionRunner(db.pool, projections, { owner: 'two', logger });
    await objects.write('c', 'k', 1, ['b1']);
    expect(await stepApplying(db.pool, one, bucketStatsProjection)).toBe(1);
    await objects.write('c', 'k2', 1, ['b1']);
    // The lease is held by `one`: `two` gets nothing, whatever is pending.
    expect(await two.step(bucketStatsProjection)).toBe(0);
    expect(await stepApplying(db.pool, one, bucketStatsProjection)).toBe(1);
    await one.stop();
    expect(await two.step(bucketStatsProjection)).toBe(0);
    await objects.write('c', 'k3', 1, ['b1']);
    expect(await stepApplying(db.pool, two, bucketStatsProjection)).toBe(1);
    await two.stop();
  });

  it('a runner whose lease runs out mid-page keeps the projection until its page commits: the next owner starts after it', async () => {
    await objects.write('d', 'k', 7, ['b1']);
    await untilReadable(db.pool);
    // The step is one statement: holding bucket_stats locked stops `one` in the middle of its page,
    // after its claim (a lease of 0 ms, over at once), while `two` claims the projection.
    const blocker = await db.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE bucket_stats IN SHARE MODE');
    const one = new ProjectionRunner(db.pool, projections, { owner: 'one', logger, leaseMs: 0 });
    const two = new ProjectionRunner(db.pool, projections, { owner: 'two', logger });
    let stepped: Promise<number> | undefined;
    let takeover: Promise<number> | undefined;
    try {
      const waiting = async () => (await db.pool.query<{ query: string; locktype: string }>(
        `SELECT a.query, l.locktype FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
          WHERE a.query LIKE '%s3o_projection_step%' ORDER BY l.locktype`,
      )).rows.map((r) => r.locktype);
      stepped = one.step(bucketStatsProjection);
      await expect.poll(waiting, { timeout: 30_000 }).toEqual(['relation']);
      takeover = two.step(bucketStatsProjection);
      // `two` waits for `one`'s checkpoint row, locked by its claim until its page commits.
      await expect.poll(waiting, { timeout: 30_000 }).toEqual(['relation', 'transactionid']);
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }
    expect(await stepped).toBe(1);
    // `two` got the projection once the page was committed, and found nothing left to apply.
    expect(await takeover).toBe(0);
    expect((await projectionStatuses(db.pool, projections))[0]?.owner).toBe('two');
    expect((await stats()).find((r: { bucket: string }) => r.bucket === 'd')).toEqual({ bucket: 'd', n: 1, bytes: 7 });
    await two.stop();
  });

  it('runs in the background and rebuild/verify agree with it', async () => {
    const runner = new ProjectionRunner(db.pool, projections, { owner: 'bg', logger, pollMaxMs: 50 });
    runner.start();
    for (let i = 0; i < 20; i++) await objects.write('e', `k${i}`, i, ['b1']);
    runner.wake();
    await expect.poll(async () => (await projectionStatuses(db.pool, projections))[0]?.lag, { timeout: 45_000 }).toBe(0);
    const verified = await verifyProjections(db.pool, findProjections('bucket_stats'));
    expect(verified[0]?.identical).toBe(true);
    const live = await stats();
    await rebuildProjections(db.pool, findProjections('bucket_stats'));
    expect(await stats()).toEqual(live);
    await objects.write('e', 'after', 1, ['b1']);
    runner.wake();
    await expect.poll(async () => (await stats()).find((r: { bucket: string }) => r.bucket === 'e')?.n, { timeout: 45_000 }).toBe(21);
    await runner.stop();
  });
});

describe('async projection runner wake-ups', () => {
  let db: MigratedDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => db.close());

  it('local appends wake it only when they hold an event some projection handles', async () => {
    const store = new PostgresEventStore(db.pool);
    const objects = new ObjectWriter(store);
    await registerBackend(store, 'b1', 0);
    // Polls so rarely that only a wake makes it look again within the test.
    const runner = new ProjectionRunner(db.pool, projections, { owner: 'quiet', logger, pollMinMs: 600_000, pollMaxMs: 600_000 });
    runner.start();
    try {
      await expect.poll(async () => (await projectionStatuses(db.pool, projections)).map((s) => [s.owner, s.lag]), { timeout: 45_000 })
        .toEqual([['quiet', 0], ['quiet', 0]]);
      await objects.write('w', 'k', 5, ['b1']);
      expect(runner.appended(['MoveStarted', 'MoveCompleted', 'JobCheckpointed', 'CleanupSucceeded'])).toBe(false);
      expect(runner.appended(['MoveStarted', 'ObjectWritten'])).toBe(true);
      await expect.poll(async () => (await db.pool.query('SELECT object_count::int AS n FROM bucket_stats WHERE bucket = $1', ['w'])).rows[0]?.n, { timeout: 45_000 })
        .toBe(1);
    } finally {
      await runner.stop();
    }
  });

  it('a burst of appends is caught up in a few coalesced steps, not one step per append', async () => {
    const store = new PostgresEventStore(db.pool);
    const objects = new ObjectWriter(store);
    await registerBackend(store, 'b2', 0);
    // The runner's own pool counts its steps (each claims the lease once, in s3o_projection_step).
    const runnerPool = createPool({ connectionString: db.url, max: 2 });
    let claims = 0;
    runnerPool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
        if (text?.includes('s3o_projection_step(')) claims++;
        return query(...args);
      };
    });
    const runner = new ProjectionRunner(runnerPool, [bucketStatsProjection], { owner: 'burst', logger, pollMinMs: 600_000, pollMaxMs: 600_000, coalesceMs: 2_000 });
    store.onAppended = (_results, appends) => runner.appended(appends.flatMap((a) => a.events.map((e) => e.type)));
    const count = async () => (await db.pool.query('SELECT object_count::int AS n FROM bucket_stats WHERE bucket = $1', ['burst'])).rows[0]?.n;
    runner.start();
    try {
      await objects.write('burst', 'first', 1, ['b2']);
      await expect.poll(count, { timeout: 45_000 }).toBe(1);
      const before = claims;
      for (let i = 0; i < 20; i++) await objects.write('burst', `k${i}`, 1, ['b2']);
      await expect.poll(count, { timeout: 45_000 }).toBe(21);
      // One step per 2 s for the whole burst; a few more only while another transaction on the
      // server holds the gap-safe horizon back.
      expect(claims - before).toBeLessThanOrEqual(6);
    } finally {
      await runner.stop();
      await runnerPool.end();
    }
  });
});
