import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendStreamId } from '../../domain/backends/backend-state.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { BackendAdmin } from '../../services/backends/backend-admin.js';
import { createEventFactory } from '../../services/event-factory.js';
import { registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

const operator = { actor: 'test' };

describe('drain status read while the drain ends', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    for (const b of ['b1', 'b2']) await registerBackend(store, b, 1_000_000);
  });
  afterAll(async () => db.close());

  it('never shows an ended job with its backend still draining (the drain ends between the backend read and the job read)', async () => {
    const events = createEventFactory('test');
    const admin = new BackendAdmin(store, db.pool, events, () => undefined);
    await admin.startDrain('b1', operator);
    // The store as the status sees it: its first read of b1's stream is answered, then the drain
    // ends (here: cancelled, which ends job and drain in one append) before the status goes on.
    let ended = false;
    const racing: EventStore = Object.create(store) as EventStore;
    racing.readStream = async (streamId, opts) => {
      const read = await store.readStream(streamId, opts);
      if (streamId === backendStreamId('b1') && !ended) {
        ended = true;
        await admin.cancelDrain('b1', operator);
      }
      return read;
    };
    const status = await new BackendAdmin(racing, db.pool, events, () => undefined).drainStatus('b1');
    expect(ended).toBe(true);
    expect(status.active).toBe(false);
    expect(status.state).toBe('active');
  });
});
