import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Logger } from '../telemetry/logger.js';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));
/** Serialises migrations between instances starting at the same time. */
const migrationLockKey = 0x5330_4d49_4752; // "S3MIGR"

interface MigrationFile {
  kind: 'versioned' | 'repeatable';
  order: number;
  name: string;
  sql: string;
  checksum: string;
}

export class SchemaTooNewError extends Error {
  constructor(dbVersion: number, known: number) {
    super(
      `the database schema is at version ${dbVersion}, newer than this build of s3-orchestrator knows (${known}); ` +
        'run a newer build, or restore a backup taken before the upgrade',
    );
    this.name = 'SchemaTooNewError';
  }
}

async function loadMigrations(): Promise<MigrationFile[]> {
  const files = (await readdir(migrationsDir)).filter((f) => f.endsWith('.sql')).sort();
  const out: MigrationFile[] = [];
  for (const f of files) {
    const versioned = /^(\d{3})_(.+)\.sql$/.exec(f);
    const repeatable = /^R_(\d{3})_(.+)\.sql$/.exec(f);
    const m = versioned ?? repeatable;
    if (!m?.[1]) throw new Error(`unexpected migration file name: ${f}`);
    const sql = await readFile(migrationsDir + f, 'utf8');
    out.push({
      kind: versioned ? 'versioned' : 'repeatable',
      order: Number(m[1]),
      name: f,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return out;
}

export function knownSchemaVersion(files: readonly MigrationFile[]): number {
  return Math.max(0, ...files.filter((f) => f.kind === 'versioned').map((f) => f.order));
}

/**
 * Applies versioned migrations once each, in order, and re-applies repeatable ones (functions)
 * whenever their text changed. Refuses to run against a schema newer than this build knows.
 */
export async function migrate(pool: pg.Pool, logger?: Logger): Promise<{ version: number; applied: string[] }> {
  const files = await loadMigrations();
  const known = knownSchemaVersion(files);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, kind text NOT NULL, version int NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (await client.query<{ name: string; checksum: string; version: number; kind: string }>('SELECT name, checksum, version, kind FROM schema_migrations')).rows.map(
        (r) => [r.name, r],
      ),
    );
    const dbVersion = Math.max(0, ...[...done.values()].filter((r) => r.kind === 'versioned').map((r) => r.version));
    if (dbVersion > known) throw new SchemaTooNewError(dbVersion, known);

    const pending = files.filter((f) => {
      const prior = done.get(f.name);
      return f.kind === 'versioned' ? !prior : prior?.checksum !== f.checksum;
    });
    // Versioned first (tables), then repeatable (functions that refer to them).
    pending.sort((a, b) => (a.kind === b.kind ? a.order - b.order : a.kind === 'versioned' ? -1 : 1));
    for (const f of pending) {
      await client.query('BEGIN');
      try {
        await client.query(f.sql);
        await client.query(
          `INSERT INTO schema_migrations (name, kind, version, checksum) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
          [f.name, f.kind, f.order, f.checksum],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${f.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(f.name);
      logger?.info({ migration: f.name }, 'applied migration');
    }
    for (const [name, row] of done) {
      const file = files.find((f) => f.name === name);
      if (row.kind === 'versioned' && file && file.checksum !== row.checksum) {
        logger?.warn({ migration: name }, 'an applied migration file has changed since it was applied');
      }
    }
    return { version: known, applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    client.release();
  }
}
