import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Position } from '../../domain/eventstore/port.js';
import { appendWith, PostgresEventStore, type Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { createMigratedDatabase, testEvent, type MigratedDatabase } from '../support/store.js';

/** A reader takes a cursor and returns the next event ids and the new cursor. */
type Reader = (after: string | undefined) => Promise<{ ids: string[]; next: string | undefined }>;

/** The reader every naive projector writes: trusts the sequence as the commit order. */
function naiveReader(db: Queryable, type: string): Reader {
  return async (after) => {
    const res = await db.query<{ seq: string; event_id: string }>(
      'SELECT seq, event_id FROM events WHERE seq > $1 AND type = $2 ORDER BY seq LIMIT 100',
      [after ?? '0', type],
    );
    const last = res.rows[res.rows.length - 1];
    return { ids: res.rows.map((r) => r.event_id), next: last ? last.seq : after };
  };
}

function gapSafeReader(store: PostgresEventStore, type: string): Reader {
  return async (after) => {
    const page = await store.readAll({ after: after as Position | undefined, limit: 100, filter: { types: [type] } });
    return { ids: page.events.map((e) => e.id), next: page.last };
  };
}

/** Appends one event inside a transaction that stays open for `holdMs` after the insert. */
async function appendHoldingTransaction(pool: pg.Pool, type: string, holdMs: number): Promise<string> {
  const open = await appendUncommitted(pool, type);
  if (holdMs > 0) await sleep(holdMs);
  return open.commit();
}

/** Appends one event in a transaction left open (its sequence number taken) until `commit()`. */
async function appendUncommitted(pool: pg.Pool, type: string): Promise<{ commit(): Promise<string> }> {
  const client = await pool.connect();
  const ev = testEvent(type);
  try {
    await client.query('BEGIN');
    await appendWith(client, [{ streamId: `gap-${randomUUID()}`, events: [ev], expected: 'no_stream' }]);
  } catch (err) {
    client.release(true);
    throw err;
  }
  return {
    async commit() {
      try {
        await client.query('COMMIT');
        return ev.id;
      } finally {
        client.release();
      }
    },
  };
}

/** A subscriber polling `reader` in the background; it remembers what it saw and counts its reads. */
function subscribe(reader: Reader) {
  const seen: string[] = [];
  let cursor: string | undefined;
  let reads = 0;
  let stopped = false;
  const readOnce = async () => {
    const page = await reader(cursor);
    seen.push(...page.ids);
    cursor = page.next;
    reads++;
    return page.ids.length;
  };
  const loop = (async () => {
    while (!stopped) if ((await readOnce()) === 0) await sleep(2);
  })();
  return {
    seen,
    /** Resolves once a read that started after this call has finished. */
    async oneFullRead(): Promise<void> {
      const target = reads + 2;
      await expect.poll(() => reads >= target, { timeout: 30_000, interval: 2 }).toBe(true);
    },
    /**
     * Stops the background loop, then reads until `done(seen)` (the gap-safe horizon may lag
     * behind commits: another test file's transaction holds it), and once more.
     */
    async stop(done: (seen: readonly string[]) => boolean): Promise<void> {
      stopped = true;
      await loop;
      const deadline = Date.now() + 30_000;
      while (!done(seen) && Date.now() < deadline) if ((await readOnce()) === 0) await sleep(20);
      await readOnce();
    },
  };
}

describe('global reads under concurrent writers', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createMigratedDatabase(40);
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => db.close());

  /**
   * Writer A takes an earlier sequence number but commits after writer B, and the subscriber
   * reads in between: after B's commit and before A's.
   */
  async function lateCommitScenario(reader: Reader, type: string, complete: (seen: readonly string[], written: readonly string[]) => boolean) {
    const sub = subscribe(reader);
    const slow = await appendUncommitted(db.pool, type);
    const fast = await (await appendUncommitted(db.pool, type)).commit();
    await sub.oneFullRead();
    const written = [await slow.commit(), fast];
    await sub.stop((seen) => complete(seen, written));
    return { seen: sub.seen, written, fast };
  }

  it('a naive seq > last reader skips an event that commits late (the test detects the bug)', async () => {
    const type = `Naive${randomUUID().slice(0, 8)}`;
    const { seen, written, fast } = await lateCommitScenario(naiveReader(db.pool, type), type, () => true);
    expect(seen).toEqual([fast]);
    expect(new Set(seen).size).toBeLessThan(written.length);
  });

  it('the gap-safe reader sees the late-committing event exactly once', async () => {
    const type = `Safe${randomUUID().slice(0, 8)}`;
    const { seen, written } = await lateCommitScenario(gapSafeReader(store, type), type, (seen, written) => written.every((id) => seen.includes(id)));
    expect(seen.sort()).toEqual(written.sort());
  });

  it('many concurrent writers, some holding transactions open: every event seen exactly once', async () => {
    const type = `Stress${randomUUID().slice(0, 8)}`;
    const stressWriters = async (): Promise<string[]> => {
      const ids: string[] = [];
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; i < 40; i++) {
            const hold = (w + i) % 5 === 0 ? 5 + ((w * 7 + i) % 40) : 0;
            ids.push(await appendHoldingTransaction(db.pool, type, hold));
          }
        }),
      );
      return ids;
    };
    const sub = subscribe(gapSafeReader(store, type));
    const written = await stressWriters();
    await sub.stop((seen) => seen.length >= written.length);
    const seen = sub.seen;
    expect(written).toHaveLength(640);
    expect(seen).toHaveLength(640);
    expect(new Set(seen).size).toBe(640);
    expect([...seen].sort()).toEqual([...written].sort());

  });
});
