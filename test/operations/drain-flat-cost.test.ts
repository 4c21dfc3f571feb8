import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamAppend } from '../../domain/eventstore/port.js';
import { objectStreamId } from '../../domain/objects/object-state.js';
import { PostgresEventStore, type Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { copiesOnBackend } from '../../projections/read/job-reads.js';
import { newEvent } from '../support/object-events.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const objects = 20_000;
/** Objects appended per transaction while seeding. */
const seedChunk = 500;
const emptyMd5 = 'd41d8cd98f00b204e9800998ecf8427e';

interface BatchCost {
  /** Events of the job's stream the store read back during the batch. */
  jobEventsRead: number;
  /** Every stream event the store read during the batch (any stream). */
  streamEventsRead: number;
  /** Rows every query returned during the batch (workers included). */
  rowsRead: number;
}

/**
 * Counts what the store reads, split at each batch the drain takes (its `copiesOnBackend`
 * query): the events of stream reads (and of the job's stream alone), and the rows of every query.
 */
function instrument(pool: pg.Pool): BatchCost[] {
  const batches: BatchCost[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  const textOf = (arg: unknown): string => (typeof arg === 'string' ? arg : ((arg as { text?: string } | undefined)?.text ?? ''));
  Object.assign(pool, {
    query: async (...args: unknown[]) => {
      const text = textOf(args[0]);
      const values = (Array.isArray(args[1]) ? args[1] : (args[0] as { values?: unknown[] } | undefined)?.values) ?? [];
      if (text.includes('FROM object_copies') && text.includes('ORDER BY size, bucket, key LIMIT')) batches.push({ jobEventsRead: 0, streamEventsRead: 0, rowsRead: 0 });
      const res = await query(...args);
      const current = batches[batches.length - 1];
      if (current) {
        current.rowsRead += res.rows?.length ?? 0;
        if (text.includes('AS stream_revision, e.* FROM streams s')) {
          const events = (res.rows as { event_id: string | null }[]).filter((r) => r.event_id !== null).length;
          current.streamEventsRead += events;
          if (String(values[0]).startsWith('job-')) current.jobEventsRead += events;
        }
      }
      return res;
    },
  });
  return batches;
}

/** 20,000 one-copy objects on b1, appended through the real append path (inline projections, quota) in bulk. */
async function seed(pool: pg.Pool): Promise<void> {
  const store = new PostgresEventStore(pool);
  for (let start = 0; start < objects; start += seedChunk) {
    const appends: StreamAppend[] = [];
    for (let i = start; i < Math.min(objects, start + seedChunk); i++) {
      const key = `k/${String(i).padStart(5, '0')}`;
      const writeId = `01J0000000000000000${String(i).padStart(7, '0')}`;
      appends.push({
        streamId: objectStreamId('alpha', key),
        expected: 'no_stream',
        events: [newEvent('ObjectWritten', {
          bucket: 'alpha', key, writeId, size: 0, previousSize: null, etag: emptyMd5, contentType: 'application/octet-stream',
          metadata: {}, headers: {}, checksum: null, contentSha256: null, encryption: null, parts: null, lastModified: new Date().toISOString(),
          copies: [{ backend: 'b1', storageKey: `alpha/${key}~${writeId}`, size: 0 }], displaced: [], origin: 'put',
        })],
      });
    }
    await store.appendToStreams(appends);
  }
}

interface PlanNode { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] }
const nodesOf = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodesOf)];

/** The plan of the drain's batch query exactly as copiesOnBackend sends it. */
async function batchPlan(pool: pg.Pool): Promise<PlanNode[]> {
  let plan: PlanNode | undefined;
  const explaining = {
    query: async (text: string, values: unknown[]) => {
      plan = ((await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values)).rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan;
      return { rows: [] };
    },
  };
  await copiesOnBackend(explaining as unknown as Queryable, 'b1', 100, ['alpha/k/00001~x']);
  return plan ? nodesOf(plan) : [];
}

describe('a drain of 20,000 objects', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 1_000_000_000 }, { quota: 1_000_000_000 }, { quota: 1_000_000_000 }] });
  });
  afterAll(async () => stack?.stop());

  it('costs the same per batch from the first to the last: no job history is read back (counted on the store, not timed)', async () => {
    const t0 = Date.now();
    await seed(stack.db.pool);
    const seedMs = Date.now() - t0;
    // Each batch reads its 100 copies off an index in order: sorting all of the backend's copies
    // per batch would make a drain of N copies cost O(N²).
    await stack.db.pool.query('ANALYZE object_copies');
    const plan = await batchPlan(stack.db.pool);
    expect(plan.map((n) => n['Node Type'])).not.toContain('Sort');
    expect(plan.map((n) => n['Index Name'])).toContain('object_copies_by_backend_size');
    const batches = instrument(stack.db.pool);
    await stack.orchestrator.services.backendAdmin.startDrain('b1', { actor: 'operator:test' });
    const state = async () => (await stack.db.pool.query<{ state: string }>("SELECT state FROM backend_state WHERE backend = 'b1'")).rows[0]?.state;
    await expect.poll(state, { timeout: 1_500_000, interval: 1000 }).toBe('drained');
    const drainMs = Date.now() - t0 - seedMs;

    const moved = Number((await stack.db.pool.query("SELECT count(*) AS n FROM events WHERE type = 'CopyMoved'")).rows[0].n);
    expect(moved).toBe(objects);
    expect(Number((await stack.db.pool.query("SELECT count(*) AS n FROM object_copies WHERE backend = 'b1'")).rows[0].n)).toBe(0);
    const checkpoints = Number((await stack.db.pool.query("SELECT count(*) AS n FROM events WHERE type = 'JobCheckpointed'")).rows[0].n);
    expect(checkpoints).toBeGreaterThanOrEqual(Math.floor((2 * objects) / 500) - 1);

    // 100 copies a batch: 200 batches with copies, and the last look that finds none.
    const working = batches.slice(0, -1);
    expect(working.length).toBeGreaterThanOrEqual(objects / 100);
    const first = working.slice(0, 10);
    const last = working.slice(-10);
    const mean = (xs: BatchCost[], f: (b: BatchCost) => number) => xs.reduce((n, b) => n + f(b), 0) / xs.length;
    // The job's own history is never read back while it runs, however long it has run.
    expect(Math.max(...working.map((b) => b.jobEventsRead))).toBe(0);
    expect(mean(last, (b) => b.streamEventsRead)).toBeLessThanOrEqual(mean(first, (b) => b.streamEventsRead) + 10);
    expect(mean(last, (b) => b.rowsRead)).toBeLessThanOrEqual(1.5 * mean(first, (b) => b.rowsRead));
    console.info(JSON.stringify({
      seedMs, drainMs,
      batches: working.length,
      first: first.map((b) => [b.jobEventsRead, b.streamEventsRead, b.rowsRead]),
      last: last.map((b) => [b.jobEventsRead, b.streamEventsRead, b.rowsRead]),
    }));
  }, 1_800_000);
});
