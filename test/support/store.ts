import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { NewEvent } from '../../domain/eventstore/port.js';
import { migrateSchema } from '../../projections/schema/plan.js';
import { createPool } from '../../infra/db/pool.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface MigratedDatabase extends TestDatabase {
  pool: pg.Pool;
  close(): Promise<void>;
}

/** A fresh database with every migration applied, and a pool on it. */
export async function createMigratedDatabase(poolSize = 10): Promise<MigratedDatabase> {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: poolSize });
  await migrateSchema(pool);
  return {
    ...db,
    pool,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

/**
 * Resolves once every event appended so far is below the gap-safe horizon, so that a gap-safe
 * read returns it. The horizon is the oldest transaction open anywhere on the server, which
 * every test file running shares: another file's transaction may hold it back for a while.
 */
export async function untilReadable(pool: pg.Pool, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ readable: boolean }>(
      'SELECT coalesce(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true) AS readable FROM events',
    );
    if (rows[0]?.readable) return;
    if (Date.now() > deadline) throw new Error(`the gap-safe horizon stayed behind the log for ${timeoutMs} ms: a transaction is held open`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function testEvent(type = 'TestEvent', data: unknown = {}, id = randomUUID()): NewEvent {
  return { id, type, schemaVersion: 1, data, metadata: { actor: 'test', at: new Date().toISOString() } };
}
