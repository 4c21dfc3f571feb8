import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from '../telemetry/logger.js';

/** The event store's own schema: the log, streams, checkpoints, leases and `s3o_append`. */
export const eventStoreMigrations = new URL('./migrations/', import.meta.url);
/** Serialises migrations between instances starting at the same time. */
const migrationLockKey = 0x5330_4d49_4752; // "S3MIGR"

/**
 * A schema change applied once. Its `version` is the schema version it belongs to: several
 * files (from the homes of different projections) may share one, and are applied together.
 */
export interface VersionedMigration {
  name: string;
  version: number;
  sql: string;
  /** The file it was split or moved from (a line `-- split from: <file>`), applied under that name. */
  splitFrom?: string;
}

/** SQL that defines functions: applied again whenever any repeatable text changed. */
export interface RepeatableMigration {
  name: string;
  sql: string;
}

export interface MigrationPlan {
  versioned: readonly VersionedMigration[];
  /** In the order they are applied. */
  repeatable: readonly RepeatableMigration[];
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

/**
 * Reads one home's SQL files: `NNN_<what>.sql` is versioned (schema version NNN, named by its
 * file name, which must be unique across homes); any other `.sql` file is repeatable, named
 * `<prefix><file>` and applied in file-name order.
 */
export async function readMigrationFolder(dir: URL, repeatablePrefix = ''): Promise<MigrationPlan> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const versioned: VersionedMigration[] = [];
  const repeatable: RepeatableMigration[] = [];
  for (const f of files) {
    const sql = await readFile(new URL(f, dir), 'utf8');
    const m = /^(\d{3})_.+\.sql$/.exec(f);
    const splitFrom = /^-- split from: (\S+\.sql)$/m.exec(sql)?.[1];
    if (m?.[1]) versioned.push({ name: f, version: Number(m[1]), sql, ...(splitFrom ? { splitFrom } : {}) });
    else repeatable.push({ name: repeatablePrefix + f, sql });
  }
  return { versioned, repeatable };
}

/** Concatenates plans, refusing two migrations of one name. */
export function combinePlans(plans: readonly MigrationPlan[]): MigrationPlan {
  const versioned = plans.flatMap((p) => p.versioned);
  const repeatable = plans.flatMap((p) => p.repeatable);
  const seen = new Set<string>();
  for (const m of [...versioned, ...repeatable]) {
    if (seen.has(m.name)) throw new Error(`two migrations are named ${m.name}`);
    seen.add(m.name);
  }
  return { versioned, repeatable };
}

function knownSchemaVersion(plan: MigrationPlan): number {
  return Math.max(0, ...plan.versioned.map((m) => m.version));
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');

interface AppliedRow { name: string; checksum: string; version: number; kind: string }

/**
 * Brings the database to the plan: every schema version above the database's, in order, each in
 * one transaction with all its files; then, when any repeatable text differs from what was
 * applied, all repeatable SQL in one transaction (functions that call each other change
 * together). Refuses a schema newer than the plan knows.
 *
 * The database's version is the highest version recorded. A versioned file at or below it with
 * no record of its own is recorded without being run when it says it was split from a file that
 * was applied (`-- split from: <file>`); any other is refused: a new file takes the next number.
 */
export async function migrate(pool: pg.Pool, plan: MigrationPlan, logger?: Logger): Promise<{ version: number; applied: string[] }> {
  const known = knownSchemaVersion(plan);
  const client = await pool.connect();
  const applied: string[] = [];
  const record = (m: VersionedMigration | RepeatableMigration, kind: 'versioned' | 'repeatable') =>
    client.query(
      `INSERT INTO schema_migrations (name, kind, version, checksum) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
      [m.name, kind, 'version' in m ? m.version : 0, checksum(m.sql)],
    );
  const inTransaction = async (what: string, fn: () => Promise<void>) => {
    await client.query('BEGIN');
    try {
      await fn();
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`migration ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, kind text NOT NULL, version int NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map((await client.query<AppliedRow>('SELECT name, checksum, version, kind FROM schema_migrations')).rows.map((r) => [r.name, r]));
    const dbVersion = Math.max(0, ...[...done.values()].filter((r) => r.kind === 'versioned').map((r) => r.version));
    if (dbVersion > known) throw new SchemaTooNewError(dbVersion, known);

    for (const m of plan.versioned) {
      const prior = done.get(m.name);
      if (m.version <= dbVersion && !prior) {
        if (!m.splitFrom || !done.has(m.splitFrom)) {
          throw new Error(
            `migration ${m.name} has version ${m.version}, but the database is already at version ${dbVersion} and never applied it: ` +
              'a new migration takes the next version number',
          );
        }
        await record(m, 'versioned');
        logger?.debug({ migration: m.name, splitFrom: m.splitFrom }, 'recorded a migration applied as part of an earlier file');
      } else if (prior && prior.checksum !== checksum(m.sql)) {
        logger?.warn({ migration: m.name }, 'an applied migration file has changed since it was applied');
      }
    }
    const pendingVersions = [...new Set(plan.versioned.map((m) => m.version).filter((v) => v > dbVersion))].sort((a, b) => a - b);
    for (const version of pendingVersions) {
      const files = plan.versioned.filter((m) => m.version === version);
      await inTransaction(files.map((m) => m.name).join(', '), async () => {
        for (const m of files) {
          await client.query(m.sql);
          await record(m, 'versioned');
        }
      });
      for (const m of files) {
        applied.push(m.name);
        logger?.info({ migration: m.name }, 'applied migration');
      }
    }

    if (plan.repeatable.some((m) => done.get(m.name)?.checksum !== checksum(m.sql))) {
      await inTransaction('repeatable SQL', async () => {
        for (const m of plan.repeatable) {
          await client.query(m.sql);
          await record(m, 'repeatable');
        }
        // Records of repeatable files that no longer exist would only confuse the next reader.
        await client.query(`DELETE FROM schema_migrations WHERE kind = 'repeatable' AND NOT (name = ANY($1::text[]))`, [plan.repeatable.map((m) => m.name)]);
      });
      applied.push(...plan.repeatable.map((m) => m.name));
      logger?.info({ migrations: plan.repeatable.length }, 'applied repeatable migrations');
    }
    return { version: known, applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    client.release();
  }
}
