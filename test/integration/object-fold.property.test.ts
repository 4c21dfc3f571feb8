import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evolveObject, initialObjectState, objectStreamId } from '../../domain/objects/object-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { foldStream } from '../../services/commands/fold-stream.js';
import { backends, step, text } from '../support/object-histories.js';
import { appendHistory, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

describe('the objects row is the fold of the object stream', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let run = 0;

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    for (const b of backends) await registerBackend(store, b, Number.MAX_SAFE_INTEGER);
  });
  afterAll(async () => db.close());

  it('for random histories decided by the object decider and appended through the inline projection, the row read at each revision equals evolveObject folded over the stream', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(step, { minLength: 1, maxLength: 10 }), async (name, steps) => {
        const key = `${++run}/${name}`;
        await appendHistory(store, 'prop', key, steps, async (folded) => {
          const row = await loadObject(db.pool, 'prop', key);
          expect(row).toEqual(folded);
          expect(await foldStream(store, objectStreamId('prop', key), initialObjectState('prop', key), evolveObject)).toEqual(row);
        });
      }),
      { numRuns: 60 },
    );
  });
});
