import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { bucketStatsProjection } from '../../projections/async/bucket-stats/bucket-stats.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { AppendWakeups } from '../../projections/async/wakeups.js';
import { ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

const logger = createLogger('silent');

describe('LISTEN/NOTIFY wake-ups between instances', () => {
  let db: MigratedDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => db.close());

  it("an append on one instance wakes another instance's idle projection runner", async () => {
    // Instance A: a runner that would otherwise sleep a minute between polls.
    const runnerA = new ProjectionRunner(db.pool, [bucketStatsProjection], { owner: 'A', logger, pollMinMs: 60_000, pollMaxMs: 60_000 });
    const wakeA = new AppendWakeups((db.pool as unknown as { options: pg.ClientConfig }).options, db.pool, 'A', () => runnerA.wake(), logger, 10);
    await wakeA.start();
    runnerA.start();
    // Instance B: appends, then hints.
    const storeB = new PostgresEventStore(db.pool);
    const wakeB = new AppendWakeups((db.pool as unknown as { options: pg.ClientConfig }).options, db.pool, 'B', () => undefined, logger, 10);
    storeB.onAppended = () => wakeB.appended();
    await registerBackend(storeB, 'b1', 0);
    await new Promise((r) => setTimeout(r, 300));
    await new ObjectWriter(storeB).write('woken', 'k', 42, ['b1']);
    await expect.poll(async () => (await db.pool.query("SELECT total_bytes::int AS b FROM bucket_stats WHERE bucket = 'woken'")).rows[0]?.b, { timeout: 10_000, interval: 20 }).toBe(42);
    await runnerA.stop();
    await wakeA.stop();
    await wakeB.stop();
  });
});
