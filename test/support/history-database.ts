import { afterAll, beforeAll } from 'vitest';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { registerBackend } from './object-events.js';
import { backends } from './object-histories.js';
import { createMigratedDatabase, type MigratedDatabase } from './store.js';

export interface HistoryDatabase {
  db: MigratedDatabase;
  store: PostgresEventStore;
}

/**
 * For the describe block it is called in: a migrated database and its event store with the random
 * histories' backends registered (no quota), made before the block's tests and closed after them.
 */
export function historyDatabase(): HistoryDatabase {
  const made = {} as HistoryDatabase;
  beforeAll(async () => {
    made.db = await createMigratedDatabase();
    made.store = new PostgresEventStore(made.db.pool);
    for (const b of backends) await registerBackend(made.store, b, Number.MAX_SAFE_INTEGER);
  });
  afterAll(async () => made.db?.close());
  return made;
}
