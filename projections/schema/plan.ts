import type pg from 'pg';
import { eventCatalog, upcasters } from '../../domain/events/catalog.js';
import {
  combinePlans,
  eventStoreMigrations,
  migrate,
  readMigrationFolder,
  type MigrationPlan,
} from '../../infra/db/migrate.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { AsyncProjection } from '../async/projection.js';
import type { InlineProjection } from '../inline/inline-projection.js';
import { asyncProjections, inlineProjections } from '../registry.js';
import { declarationProblems, type CatalogueView } from './event-versions.js';
import { dispatchSql, eventVersionsSql, groupDispatchSql, replaySql } from './generated-sql.js';
import { sqlUpcasters } from './sql-upcasters.js';

/** What the database schema is made from. Tests build variants (another catalogue version). */
export interface SchemaSources {
  catalogue: CatalogueView;
  inline: readonly InlineProjection[];
  async: readonly AsyncProjection[];
}

export const defaultSchemaSources: SchemaSources = {
  catalogue: { versions: eventCatalog, upcasters, sqlUpcasters },
  inline: inlineProjections,
  async: asyncProjections,
};

const sharedSql = new URL('./', import.meta.url);

/**
 * The whole schema: the event store's migrations, then the shared projection SQL, then each
 * projection's home in registry order, then the SQL generated from the registry (version checks,
 * the append's dispatch one by one and set-based, replay). Refuses declarations that do not cover the catalogue.
 */
export async function schemaPlan(sources: SchemaSources = defaultSchemaSources): Promise<MigrationPlan> {
  const projections = [...sources.inline, ...sources.async];
  const problems = declarationProblems(sources.catalogue, projections);
  if (problems.length > 0) throw new Error(`projection declarations do not match the event catalogue:\n- ${problems.join('\n- ')}`);
  for (const p of sources.inline) {
    if (!/^[a-z][a-z0-9_]*$/.test(p.name)) throw new Error(`inline projection name "${p.name}" is not a plain SQL identifier`);
    const notHandled = p.bulk.filter((b) => !p.handles.includes(b));
    if (notHandled.length > 0) throw new Error(`inline projection ${p.name} replays set-based what it does not handle: ${notHandled.join(', ')}`);
  }
  return combinePlans([
    await readMigrationFolder(eventStoreMigrations),
    await readMigrationFolder(sharedSql, 'projections/'),
    ...(await Promise.all(projections.map((p) => readMigrationFolder(p.home, `${p.name}/`)))),
    {
      versioned: [],
      repeatable: [
        { name: 'generated/event-versions.sql', sql: eventVersionsSql(sources.catalogue) },
        { name: 'generated/dispatch.sql', sql: dispatchSql(sources.catalogue, sources.inline) },
        { name: 'generated/group-dispatch.sql', sql: groupDispatchSql(sources.catalogue, sources.inline) },
        { name: 'generated/replay.sql', sql: replaySql(sources.inline) },
      ],
    },
  ]);
}

/** Migrates the database to this build's schema (see `migrate` in infra/db/migrate.ts). */
export async function migrateSchema(pool: pg.Pool, logger?: Logger, sources?: SchemaSources): Promise<{ version: number; applied: string[] }> {
  return migrate(pool, await schemaPlan(sources), logger);
}
