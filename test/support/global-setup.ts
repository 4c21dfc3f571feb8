import type { TestProject } from 'vitest/node';
import pg from 'pg';

/**
 * Finds the PostgreSQL server the tests use: S3O_TEST_PG_URL if set, else the local server on
 * 127.0.0.1:5432 (trust auth). Each test file creates its own database on it (see db.ts).
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.S3O_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  await client.end();
  project.provide('pgAdminUrl', url);
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
