import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../infra/db/pool.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { allProjections } from '../../projections/registry.js';
import { migrateSchema, schemaPlan } from '../../projections/schema/plan.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';

/**
 * The schema as commit 709f3d0 left it (before each projection had its own home): its migration
 * files, applied the way that build's runner applied them, each recorded under its file name.
 */
const fixture = new URL('../fixtures/schema-709f3d0/', import.meta.url);
async function createSchemaAsOf709f3d0(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE schema_migrations (name text PRIMARY KEY, kind text NOT NULL, version int NOT NULL,
    checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const files = (await readdir(fixture)).sort((a, b) => Number(a.startsWith('R_')) - Number(b.startsWith('R_')) || a.localeCompare(b));
  for (const f of files) {
    const sql = await readFile(new URL(f, fixture), 'utf8');
    await pool.query(sql);
    const m = /^(?:R_)?(\d{3})_/.exec(f);
    await pool.query('INSERT INTO schema_migrations (name, kind, version, checksum) VALUES ($1, $2, $3, $4)', [
      f, f.startsWith('R_') ? 'repeatable' : 'versioned', Number(m?.[1]), createHash('sha256').update(sql).digest('hex'),
    ]);
  }
}

const liveTables = allProjections.flatMap((p) => p.tables);
/** The projection tables that exist (later versions add some). */
async function snapshot(pool: pg.Pool): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of liveTables) {
    if ((await pool.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [t])).rows[0]?.r == null) continue;
    out[t] = (await pool.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`)).rows;
  }
  return out;
}

describe('upgrading a database created by the build before projection homes (709f3d0)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let objects: ObjectWriter;
  let before: Record<string, unknown[]>;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 4 });
    await createSchemaAsOf709f3d0(pool);
    // A history written through that build's s3o_append and its inline projections.
    store = new PostgresEventStore(pool);
    objects = new ObjectWriter(store);
    await registerBackend(store, 'b1', 10_000);
    await registerBackend(store, 'b2', 10_000);
    await objects.write('photos', 'a.jpg', 100, ['b1']);
    await objects.write('photos', 'a.jpg', 120, ['b2', 'b1']);
    await objects.write('docs', 'x.txt', 7, ['b2']);
    await objects.delete('docs', 'x.txt');
    await store.appendToStream('upload-u1', [newEvent('MultipartUploadCreated', {
      uploadId: 'u1', bucket: 'photos', key: 'big', backend: 'b2', backendUploadId: 'x', storageKey: 'photos/big~1', writeId: '1',
      contentType: 'application/octet-stream', metadata: {}, headers: {}, initiatedAt: '2026-11-01T00:00:00.000Z', encryption: null,
    }), newEvent('PartUploaded', { uploadId: 'u1', backend: 'b2', partNumber: 1, size: 300, etag: 'e', backendEtag: 'be', checksum: null, sha256: null, storedSize: 300, salt: null })], { expected: 'no_stream' });
    await store.appendToStream('usage-b1', [newEvent('UsageFlushed', { backend: 'b1', period: '2026-11', apiRequests: 3, egressBytes: 10, ingressBytes: 0 })], { expected: 'any' });
    before = await snapshot(pool);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('migrates without running the moved table files again, and drops what nothing calls any more', async () => {
    const result = await migrateSchema(pool);
    const plan = await schemaPlan();
    expect(result.version).toBe(Math.max(...plan.versioned.map((m) => m.version)));
    // Only the version steps from 006 on (in version order, whichever home holds them) and the repeatable SQL run; the tables were created under the old names.
    expect(result.applied.filter((n) => /^\d{3}_/.test(n))).toEqual(plan.versioned.filter((m) => m.version >= 6).sort((a, b) => a.version - b.version).map((m) => m.name));
    expect(result.applied.filter((n) => !/^\d{3}_/.test(n))).toEqual(plan.repeatable.map((m) => m.name));
    const recorded = (await pool.query<{ name: string; kind: string }>('SELECT name, kind FROM schema_migrations')).rows;
    expect(recorded.filter((r) => r.kind === 'repeatable').map((r) => r.name).sort()).toEqual(plan.repeatable.map((m) => m.name).sort());
    for (const m of plan.versioned) expect(recorded.map((r) => r.name)).toContain(m.name);
    const functions = (await pool.query<{ sig: string }>(
      "SELECT p.oid::regprocedure::text AS sig FROM pg_proc p WHERE p.proname IN ('s3o_project_inline', 's3o_replay_inline') ORDER BY 1",
    )).rows.map((r) => r.sig);
    expect(functions).toEqual(['s3o_project_inline(text,bigint,text,integer,jsonb,jsonb,boolean)']);
    // Columns added since (007_integrity, 008_objects_encryption) are empty on upgraded rows; the rest is as it was.
    const added = new Set(['content_sha256', 'checked_at', 'corrupt_since', 'encryption']);
    const after = await snapshot(pool);
    for (const rows of Object.values(after)) {
      for (const row of rows as Record<string, unknown>[]) {
        for (const column of added) {
          if (column in row) {
            expect(row[column]).toBeNull();
            delete row[column];
          }
        }
      }
    }
    // Tables added since start empty.
    expect(after).toEqual({ ...before, usage_move_reservations: [] });
    expect((await migrateSchema(pool)).applied).toEqual([]);
  });

  it('the old history replays to the tables the old build wrote, and appends go on', async () => {
    const verified = await verifyProjections(pool, allProjections.filter((p) => p.kind === 'inline'));
    expect(verified.map((v) => v.diffs.filter((d) => d.onlyInLive + d.onlyInRebuilt > 0))).toEqual([[]]);
    await objects.write('photos', 'after-upgrade', 10, ['b1']);
    await store.appendToStream('upload-u1', [newEvent('PartUploaded', { uploadId: 'u1', backend: 'b2', partNumber: 1, size: 250, etag: 'e2', backendEtag: 'be2', checksum: null, sha256: null, storedSize: 250, salt: null })], { expected: 'any' });
    const usage = (await pool.query("SELECT bytes_used::int AS used, pending_bytes::int AS pending FROM backend_usage WHERE backend = 'b1' OR backend = 'b2' ORDER BY backend")).rows;
    expect(usage).toEqual([{ used: 130, pending: 0 }, { used: 120, pending: 250 }]);
    await rebuildProjections(pool, allProjections);
    expect((await verifyProjections(pool, allProjections)).every((v) => v.identical)).toBe(true);
  });
});
