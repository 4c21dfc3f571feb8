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

export function testEvent(type = 'TestEvent', data: unknown = {}, id = randomUUID()): NewEvent {
  return { id, type, schemaVersion: 1, data, metadata: { actor: 'test', at: new Date().toISOString() } };
}
