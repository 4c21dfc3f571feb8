import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadObject, loadObjects } from '../../projections/read/object-reads.js';
import { ObjectLoadBatcher } from '../../services/objects/object-load-batcher.js';
import { historyDatabase } from '../support/history-database.js';
import { appendHistory } from '../support/object-events.js';
import { step, text, type Step } from '../support/object-histories.js';

describe('objects loaded together', () => {
  const history = historyDatabase();
  let run = 0;

  /** Appends a random history to a fresh key and answers the key. */
  async function objectWith(name: string, steps: readonly Step[]): Promise<string> {
    const key = `${++run}/${name}`;
    await appendHistory(history.store, 'batch', key, steps);
    return key;
  }

  it('read in one statement, each key (absent, deleted, repeated ones too) is what loadObject reads for it, in the order asked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, fc.array(step, { maxLength: 8 })), { minLength: 1, maxLength: 5 }), async (histories) => {
        const keys: string[] = [];
        for (const [name, steps] of histories) keys.push(await objectWith(name, steps));
        const asked = [...keys, `${++run}/never-written`, ...keys.slice(0, 1)].map((key) => ({ bucket: 'batch', key }));
        const one = await Promise.all(asked.map((k) => loadObject(history.db.pool, k.bucket, k.key)));
        expect(await loadObjects(history.db.pool, asked)).toEqual(one);
      }),
      { numRuns: 30 },
    );
  });

  it('loads asked for in one event-loop turn go as one statement; each caller gets its own key', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push(await objectWith(`k${i}`, [{ op: 'write', on: ['b1'], size: i, contentType: '', metadata: {}, headers: {}, checksum: false, sha: null, parts: null, lastModified: new Date(0) }]));
    let statements = 0;
    const pool = history.db.pool;
    // The pool with its query counted.
    const counting = new Proxy(pool, {
      get(t, key) {
        if (key === 'query') return (...args: unknown[]) => { statements++; return (pool.query as (...a: unknown[]) => unknown)(...args); };
        const v = Reflect.get(t, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const batcher = new ObjectLoadBatcher(counting);
    const loaded = await Promise.all(keys.map((key) => batcher.load('batch', key)));
    expect(statements).toBe(1);
    expect(loaded).toEqual(await Promise.all(keys.map((key) => loadObject(history.db.pool, 'batch', key))));
    expect(loaded.map((s) => s.current?.size)).toEqual([0, 1, 2, 3, 4]);
  });
});
