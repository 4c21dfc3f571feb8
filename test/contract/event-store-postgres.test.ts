import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createMigratedDatabase } from '../support/store.js';
import { runEventStoreContract } from './event-store.contract.js';

runEventStoreContract('PostgreSQL', async () => {
  const db = await createMigratedDatabase(25);
  return { store: new PostgresEventStore(db.pool, { readPageSize: 1000 }), close: () => db.close() };
});
