import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { bucketStatsProjection } from '../../projections/async/bucket-stats/bucket-stats.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { AppendWakeups } from '../../projections/async/wakeups.js';
import type { ObjectChange } from '../../domain/objects/object-changes.js';
import { ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

const logger = createLogger('silent');
/** Longer than any test here: a runner that is not woken does not poll again while a test runs. */
const noPolling = { pollMinMs: 600_000, pollMaxMs: 600_000 };
/** The runner has applied everything it could read: its last read found nothing. */
const caughtUp = (rows: readonly number[]) => rows.length > 0 && rows[rows.length - 1] === 0;

/** `target` with its `query` replaced. */
function withQuery<T extends object>(target: T, query: (...args: unknown[]) => Promise<unknown>): T {
  return new Proxy(target, {
    get(t, key) {
      if (key === 'query') return query;
      const v = Reflect.get(t, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/**
 * A runner's pool, watched: it counts the runner's steps, each a gap-safe read of the log and the
 * apply of what it read in one statement (on the pool or on a client taken from it), as their
 * results arrive, each as 1 when it read a page or 0 when there was nothing to read, and can hold
 * those results back until the test releases them.
 */
function watchedPool(pool: pg.Pool) {
  const rows: number[] = [];
  const waiters: { done: (rows: readonly number[]) => boolean; resolve: () => void }[] = [];
  let held: Promise<void> | undefined;
  const watching = (run: (...a: unknown[]) => Promise<pg.QueryResult>) => async (...args: unknown[]) => {
    const res = await run(...args);
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text ?? '';
    if (text.includes('s3o_projection_step(')) {
      rows.push((res.rows[0] as { advanced?: boolean } | undefined)?.advanced ? 1 : 0);
      for (const w of waiters.filter((x) => x.done(rows))) w.resolve();
      if (held) await held;
    }
    return res;
  };
  const connect = async () => {
    const client = await pool.connect();
    return withQuery(client, watching(client.query.bind(client) as (...a: unknown[]) => Promise<pg.QueryResult>));
  };
  const watched = new Proxy(withQuery(pool, watching(pool.query.bind(pool) as (...a: unknown[]) => Promise<pg.QueryResult>)), {
    get(target, key) {
      if (key === 'connect') return connect;
      return Reflect.get(target, key) as unknown;
    },
  });
  return {
    pool: watched,
    /** What the steps so far read (1 a page, 0 nothing), in order. */
    rows,
    /** Resolves once the reads returned from the server so far satisfy `done`. */
    until: (done: (rows: readonly number[]) => boolean) => new Promise<void>((resolve) => {
      if (done(rows)) resolve();
      else waiters.push({ done, resolve });
    }),
    /** Holds the results of reads from now on; the returned function hands them over. */
    hold: () => {
      let release = () => undefined as void;
      held = new Promise((r) => (release = r));
      return () => {
        held = undefined;
        release();
      };
    },
  };
}

describe('wake-ups of async projection runners', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    await registerBackend(store, 'b1', 0);
  });
  // Each test starts with the projection caught up, whatever an earlier one left behind.
  beforeEach(async () => new ProjectionRunner(db.pool, [bucketStatsProjection], { owner: 'A', logger }).catchUp());
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(async () => db.close());

  const bytesOf = async (bucket: string) => (await db.pool.query<{ b: number }>('SELECT total_bytes::int AS b FROM bucket_stats WHERE bucket = $1', [bucket])).rows[0]?.b;
  const startRunner = (pool: pg.Pool) => {
    const runner = new ProjectionRunner(pool, [bucketStatsProjection], { owner: 'A', logger, ...noPolling });
    runner.start();
    stops.push(() => runner.stop());
    return runner;
  };

  it("an append on one instance wakes another instance's idle projection runner (LISTEN/NOTIFY)", async () => {
    const options = (db.pool as unknown as { options: pg.ClientConfig }).options;
    const watched = watchedPool(db.pool);
    // Instance A: its runner reads once and does not poll again by itself. That read may still find
    // an event the beforeEach catch-up could not see yet (held back by another file's open
    // transaction): a page that is not cut short takes all there is, so the runner then sleeps.
    const runnerA = startRunner(watched.pool);
    const wakeA = new AppendWakeups(options, db.pool, 'A', { wake: () => runnerA.wake() }, logger, 10);
    stops.push(() => wakeA.stop());
    await wakeA.start();
    await watched.until((rows) => rows.length > 0);
    // Instance B: appends, then hints.
    const storeB = new PostgresEventStore(db.pool);
    const wakeB = new AppendWakeups(options, db.pool, 'B', { wake: () => undefined }, logger, 10);
    stops.push(() => wakeB.stop());
    storeB.onAppended = () => wakeB.appended();
    await new ObjectWriter(storeB).write('woken', 'k', 42, ['b1']);
    await expect.poll(() => bytesOf('woken'), { timeout: 45_000, interval: 20 }).toBe(42);
  });

  it('a notice names the objects the appends changed (split under the NOTIFY limit), carries broadcasts, and an older build\'s bare notice means unknown changes', async () => {
    const options = (db.pool as unknown as { options: pg.ClientConfig }).options;
    const heard: { changes: ObjectChange[]; unknown: number; messages: unknown[]; wakes: number } = { changes: [], unknown: 0, messages: [], wakes: 0 };
    const listening = new AppendWakeups(options, db.pool, 'A', {
      wake: () => (heard.wakes += 1),
      changed: (c) => heard.changes.push(...c),
      unknown: () => (heard.unknown += 1),
      message: (m) => heard.messages.push(m),
    }, logger, 10);
    stops.push(() => listening.stop());
    await listening.start();
    const sending = new AppendWakeups(options, db.pool, 'B', { wake: () => undefined }, logger, 10);
    stops.push(() => sending.stop());
    // 300 keys of 100 bytes: about 33 KB of changes, several notices.
    const changes = Array.from({ length: 300 }, (_, i) => ({ bucket: 'alpha', key: `${String(i).padStart(3, '0')}/${'k'.repeat(96)}`, versionChanged: i % 3 !== 0, ...(i % 3 === 1 ? { writeId: `w${i}` } : {}) }));
    sending.appended(changes.slice(0, 150));
    sending.appended(changes.slice(150));
    await expect.poll(() => heard.changes.length, { timeout: 15_000, interval: 20 }).toBe(300);
    expect(new Set(heard.changes.map((c) => JSON.stringify(c)))).toEqual(new Set(changes.map((c) => JSON.stringify(c))));
    expect(heard.wakes).toBeGreaterThan(1);
    await sending.broadcast({ cache: 'flush' });
    await expect.poll(() => heard.messages, { timeout: 15_000, interval: 20 }).toEqual([{ cache: 'flush' }]);
    await db.pool.query("SELECT pg_notify('s3o_appended', 'an-older-instance')");
    await expect.poll(() => heard.unknown, { timeout: 15_000, interval: 20 }).toBe(1);
  });

  it('a wake that arrives while the runner is reading is not lost', async () => {
    const watched = watchedPool(db.pool);
    const release = watched.hold();
    const runner = startRunner(watched.pool);
    // The runner's first read has been answered, before the append: it cannot contain the event.
    await watched.until((rows) => rows.length === 1);
    await new ObjectWriter(store).write('mid-read', 'k', 7, ['b1']);
    runner.wake();
    release();
    await expect.poll(() => bytesOf('mid-read'), { timeout: 45_000, interval: 20 }).toBe(7);
    expect(watched.rows[0]).toBe(0);
  });

  it('a woken runner applies events held back by an older open transaction as soon as it ends', async () => {
    const watched = watchedPool(db.pool);
    const runner = startRunner(watched.pool);
    await watched.until(caughtUp);
    // An older transaction with an id holds the gap-safe horizon back.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    stops.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_current_xact_id()');
    await new ObjectWriter(store).write('held-back', 'k', 9, ['b1']);
    const before = watched.rows.length;
    runner.wake();
    // The woken runner's read cannot see the event yet.
    await watched.until((rows) => rows.length > before);
    expect(watched.rows[before]).toBe(0);
    await blocker.query('COMMIT');
    await expect.poll(() => bytesOf('held-back'), { timeout: 45_000, interval: 20 }).toBe(9);
  });
});
