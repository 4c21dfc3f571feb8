import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../infra/db/embedded-postgres.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { postgresAnswers } from '../../infra/db/postgres-answers.js';

let embedded: EmbeddedPostgresHandle | undefined;
let embeddedParent: string | undefined;

/**
 * Chooses the PostgreSQL server the tests use: S3O_TEST_PG_URL if set, else the local server on
 * 127.0.0.1:5432 (trust auth) when it answers, else an embedded-postgres server started here.
 * Each test file then creates its own database on it (see db.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.S3O_TEST_PG_URL ?? process.env.S3O_TEST_LOCAL_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!(await postgresAnswers(url))) {
    if (process.env.S3O_TEST_PG_URL) throw new Error(`S3O_TEST_PG_URL (${url}) is not reachable`);
    const parent = await mkdtemp(join(tmpdir(), 's3o-test-pg-'));
    embeddedParent = parent;
    // PostgreSQL runs as an unprivileged user when the tests run as root: it must reach the directory.
    await chmod(parent, 0o755);
    const dataDir = join(parent, 'data');
    embedded = await startEmbeddedPostgres({ dataDir, logger: createLogger('warn') });
    url = embedded.connectionString.replace(/\/s3o$/, '/postgres');
    console.log(`PostgreSQL at 127.0.0.1:5432 is not reachable; using embedded PostgreSQL on port ${embedded.port}`);
  }
  project.provide('pgAdminUrl', url);
  return async () => {
    await embedded?.stop();
    if (embeddedParent) await rm(embeddedParent, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
