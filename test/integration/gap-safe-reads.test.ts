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
  const client = await pool.connect();
  const ev = testEvent(type);
  try {
    await client.query('BEGIN');
    await appendWith(client, [{ streamId: `gap-${randomUUID()}`, events: [ev], expected: 'no_stream' }]);
    if (holdMs > 0) await sleep(holdMs);
    await client.query('COMMIT');
    return ev.id;
  } finally {
    client.release();
  }
}

/** Runs a subscriber over `reader` while `writers` run, then drains; returns what it saw. */
async function subscribeWhile(reader: Reader, writers: () => Promise<string[]>): Promise<{ seen: string[]; written: string[] }> {
  const seen: string[] = [];
  let cursor: string | undefined;
  let done = false;
  const subscriber = (async () => {
    while (!done) {
      const page = await reader(cursor);
      seen.push(...page.ids);
      cursor = page.next;
      if (page.ids.length === 0) await sleep(2);
    }
    for (let idle = 0; idle < 3; ) {
      const page = await reader(cursor);
      seen.push(...page.ids);
      cursor = page.next;
      idle = page.ids.length === 0 ? idle + 1 : 0;
      await sleep(20);
    }
  })();
  const written = await writers();
  done = true;
  await subscriber;
  return { seen, written };
}

describe('global reads under concurrent writers', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createMigratedDatabase(40);
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => db.close());

  /** Writer A takes an earlier sequence number but commits after writer B. */
  async function lateCommitScenario(reader: Reader, type: string) {
    return subscribeWhile(reader, async () => {
      const slow = appendHoldingTransaction(db.pool, type, 300);
      await sleep(50);
      const fast = await appendHoldingTransaction(db.pool, type, 0);
      await sleep(100);
      return [await slow, fast];
    });
  }

  it('a naive seq > last reader skips an event that commits late (the test detects the bug)', async () => {
    const type = `Naive${randomUUID().slice(0, 8)}`;
    const { seen, written } = await lateCommitScenario(naiveReader(db.pool, type), type);
    expect(new Set(seen).size).toBeLessThan(written.length);
  });

  it('the gap-safe reader sees the late-committing event exactly once', async () => {
    const type = `Safe${randomUUID().slice(0, 8)}`;
    const { seen, written } = await lateCommitScenario(gapSafeReader(store, type), type);
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
    const { seen, written } = await subscribeWhile(gapSafeReader(store, type), stressWriters);
    expect(written).toHaveLength(640);
    expect(seen).toHaveLength(640);
    expect(new Set(seen).size).toBe(640);
    expect([...seen].sort()).toEqual([...written].sort());

  });
});
