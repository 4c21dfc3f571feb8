import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLog } from '../../bench/projections/log-import.js';
import { syntheticLog } from '../../bench/projections/synthetic-log.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { rebuildProjections } from '../../projections/rebuild.js';
import { inlineProjections } from '../../projections/registry.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/** Rows as sorted JSON lines, so tables compare as multisets whatever their physical order. */
async function rowsOf(db: MigratedDatabase, sql: string): Promise<string[]> {
  return (await db.pool.query(sql)).rows.map((r: unknown) => JSON.stringify(r)).sort();
}

describe('the rebuild bench prepares its log', () => {
  let appended: MigratedDatabase;
  let imported: MigratedDatabase;
  beforeAll(async () => {
    [appended, imported] = await Promise.all([createMigratedDatabase(4), createMigratedDatabase(4)]);
  });
  afterAll(async () => Promise.all([appended.close(), imported.close()]));

  it('by bulk insert and a rebuild, into the rows the real append path writes', async () => {
    const store = new PostgresEventStore(appended.pool);
    for (const batch of syntheticLog(3000)) await store.appendToStreams(batch);
    await importLog(imported.pool, syntheticLog(3000), 700);
    await rebuildProjections(imported.pool, inlineProjections);

    const log = 'SELECT stream_id, revision, event_id, type, schema_version, data, metadata FROM events ORDER BY tx_id, seq';
    const appendedLog = (await appended.pool.query(log)).rows;
    expect(appendedLog.length).toBeGreaterThanOrEqual(3000);
    expect((await imported.pool.query(log)).rows).toEqual(appendedLog);
    const streams = 'SELECT stream_id, category, revision FROM streams';
    expect(await rowsOf(imported, streams)).toEqual(await rowsOf(appended, streams));
    for (const table of inlineProjections.flatMap((p) => p.tables)) {
      const rows = await rowsOf(appended, `SELECT * FROM ${table}`);
      expect(await rowsOf(imported, `SELECT * FROM ${table}`), table).toEqual(rows);
    }
    expect(await rowsOf(appended, 'SELECT * FROM objects')).not.toEqual([]);
    expect(await rowsOf(appended, 'SELECT * FROM cleanup_queue')).not.toEqual([]);
  });
});
