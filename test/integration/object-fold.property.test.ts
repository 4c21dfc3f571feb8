import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolveObject, initialObjectState, objectStreamId } from '../../domain/objects/object-state.js';
import { loadObject } from '../../projections/read/object-reads.js';
import { foldStream } from '../../services/commands/fold-stream.js';
import { historyDatabase } from '../support/history-database.js';
import { appendHistory } from '../support/object-events.js';
import { step, text } from '../support/object-histories.js';

describe('the objects row is the fold of the object stream', () => {
  const history = historyDatabase();
  let run = 0;

  it('for random histories decided by the object decider and appended through the inline projection, the row read at each revision equals evolveObject folded over the stream', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.array(step, { minLength: 1, maxLength: 10 }), async (name, steps) => {
        const key = `${++run}/${name}`;
        await appendHistory(history.store, 'prop', key, steps, async (folded) => {
          const row = await loadObject(history.db.pool, 'prop', key);
          expect(row).toEqual(folded);
          expect(await foldStream(history.store, objectStreamId('prop', key), initialObjectState('prop', key), evolveObject)).toEqual(row);
        });
      }),
      { numRuns: 60 },
    );
  });
});
