import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, SchemaTooNewError } from '../../infra/db/migrate.js';
import { migrateSchema, schemaPlan } from '../../projections/schema/plan.js';
import { createPool } from '../../infra/db/pool.js';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('schema migrations', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('applies every migration once, in order, and nothing the second time', async () => {
    const first = await migrateSchema(pool);
    expect(first.applied[0]).toBe('001_event_store.sql');
    expect(first.applied.filter((n) => n.startsWith('R_')).length).toBeGreaterThan(0);
    const again = await migrateSchema(pool);
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(first.version);
  });

  it('runs safely from several instances starting at once', async () => {
    await pool.query("DELETE FROM schema_migrations WHERE name LIKE 'R_%'");
    const results = await Promise.all([migrateSchema(pool), migrateSchema(pool), migrateSchema(pool)]);
    expect(results.flatMap((r) => r.applied).filter((n) => n.startsWith('R_010')).length).toBe(1);
  });

  it('refuses a new migration numbered at or below the version the database is at', async () => {
    const plan = await schemaPlan();
    const late = { ...plan, versioned: [...plan.versioned, { name: '003_late.sql', version: 3, sql: 'CREATE TABLE never_created (x int)' }] };
    await expect(migrate(pool, late)).rejects.toThrow(/003_late\.sql has version 3, but the database is already at version \d+ and never applied it: a new migration takes the next version number/);
    expect((await pool.query("SELECT to_regclass('never_created') AS t")).rows[0]).toEqual({ t: null });
  });

  it('refuses a schema newer than this build knows, saying what to do', async () => {
    await pool.query("INSERT INTO schema_migrations (name, kind, version, checksum) VALUES ('999_from_the_future.sql', 'versioned', 999, 'x')");
    const err = await migrateSchema(pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as Error).message).toMatch(/version 999, newer than this build of s3-orchestrator knows/);
    expect((err as Error).message).toMatch(/run a newer build/);
  });
});
