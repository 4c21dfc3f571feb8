import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, IdempotencyConflictError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { AppendResult, StreamAppend } from '../../domain/eventstore/port.js';
import { decodePosition } from '../../infra/eventstore/positions.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { verifyProjections } from '../../projections/rebuild.js';
import { findProjections } from '../../projections/registry.js';
import { objectStreamId } from '../../domain/objects/object-state.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/**
 * Group commit: appends issued while another is committing go together in one transaction, and
 * each still gets its own outcome. The first call of a burst starts committing at once, the rest
 * wait for it and form one group, which waits a few event-loop turns to fill; so grouping is
 * deterministic (turns, no timing involved).
 */
describe('group commit of concurrent appends', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;

  const txOf = (r: PromiseSettledResult<AppendResult[]>): string => {
    if (r.status !== 'fulfilled') throw new Error(`append failed: ${String(r.reason)}`);
    return decodePosition(r.value[0]!.position).txId;
  };
  const marker = (stream: string, expected: StreamAppend['expected'] = 'no_stream'): StreamAppend => ({
    streamId: stream, expected, events: [newEvent('CleanupSucceeded', { attempt: 1, backend: 'none', size: 0 })],
  });

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => db.close());

  it('a burst of appends commits as one transaction after the first, every append visible and in order', async () => {
    const streams = Array.from({ length: 8 }, () => `cleanup-${randomUUID()}`);
    const settled = await Promise.allSettled(streams.map((s) => store.appendToStreams([marker(s)])));
    const txs = settled.map(txOf);
    expect(new Set(txs.slice(1)).size).toBe(1);
    expect(txs[1]).not.toBe(txs[0]);
    for (const s of streams) expect((await store.readStream(s)).revision).toBe(0n);
  });

  it('after a commit, the next group waits a few event-loop turns to fill: an append a turn later joins it', async () => {
    const [first, second, third] = Array.from({ length: 3 }, () => `cleanup-${randomUUID()}`) as [string, string, string];
    const nextTurn = (): Promise<void> => new Promise((done) => setImmediate(done));
    await store.appendToStreams([marker(first)]);
    const early = store.appendToStreams([marker(second)]);
    await nextTurn();
    const late = store.appendToStreams([marker(third)]);
    const [a, b] = await Promise.allSettled([early, late]);
    expect(txOf(a!)).toBe(txOf(b!));
  });

  it('a refused expected revision fails only its own append; the others of the group commit', async () => {
    const first = `cleanup-${randomUUID()}`;
    const stale = `cleanup-${randomUUID()}`;
    await store.appendToStreams([marker(stale)]);
    const others = [`cleanup-${randomUUID()}`, `cleanup-${randomUUID()}`];
    const settled = await Promise.allSettled([
      store.appendToStreams([marker(first)]),
      store.appendToStreams([marker(others[0]!)]),
      store.appendToStreams([marker(stale, 'no_stream')]),
      store.appendToStreams([marker(others[1]!)]),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect(txOf(settled[1]!)).toBe(txOf(settled[3]!));
    expect((await store.readStream(stale)).revision).toBe(0n);
    for (const s of others) expect((await store.readStream(s)).revision).toBe(0n);
  });

  it('two appends of one group to one stream: the second sees the first, as if sent one after the other', async () => {
    const blocker = `cleanup-${randomUUID()}`;
    const stream = `cleanup-${randomUUID()}`;
    const settled = await Promise.allSettled([
      store.appendToStreams([marker(blocker)]),
      store.appendToStreams([marker(stream, 'no_stream')]),
      store.appendToStreams([marker(stream, 0n)]),
      store.appendToStreams([marker(stream, 'no_stream')]),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect(settled[2]!.status === 'fulfilled' && settled[2]!.value[0]!.nextRevision).toBe(1n);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(stream)).events.map((e) => e.revision)).toEqual([0n, 1n]);
  });

  it('a retried append in a group answers alreadyAppended; a partial retry fails alone', async () => {
    const blocker = `cleanup-${randomUUID()}`;
    const stream = `cleanup-${randomUUID()}`;
    const original = marker(stream);
    await store.appendToStreams([original]);
    const partial: StreamAppend = { ...original, expected: 'any', events: [...original.events, ...marker(stream).events] };
    const settled = await Promise.allSettled([
      store.appendToStreams([marker(blocker)]),
      store.appendToStreams([original]),
      store.appendToStreams([partial]),
    ]);
    expect(settled[1]!.status === 'fulfilled' && settled[1]!.value[0]!.alreadyAppended).toBe(true);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
    expect((await store.readStream(stream)).revision).toBe(0n);
  });

  it('a multi-stream append in a group stays atomic', async () => {
    const blocker = `cleanup-${randomUUID()}`;
    const [a, b, taken] = [`cleanup-${randomUUID()}`, `cleanup-${randomUUID()}`, `cleanup-${randomUUID()}`];
    await store.appendToStreams([marker(taken)]);
    const settled = await Promise.allSettled([
      store.appendToStreams([marker(blocker)]),
      store.appendToStreams([marker(a), marker(taken, 'no_stream')]),
      store.appendToStreams([marker(b)]),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.readStream(a)).revision).toBe('no_stream');
    expect((await store.readStream(b)).revision).toBe(0n);
  });

  it('a quota refusal fails only the appends that would overfill; the quota holds', async () => {
    await registerBackend(store, 'grouped', 500);
    const writer = new ObjectWriter(store);
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => writer.write('group', `k${i}`, 100, ['grouped'])));
    const refused = settled.filter((r) => r.status === 'rejected');
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InvariantViolationError);
    const usage = (await db.pool.query('SELECT bytes_used::int AS used, object_count::int AS count FROM backend_usage WHERE backend = $1', ['grouped'])).rows[0];
    expect(usage).toEqual({ used: 500, count: 5 });
    expect((await db.pool.query("SELECT count(*)::int AS n FROM objects WHERE bucket = 'group'")).rows[0]).toEqual({ n: 5 });
  });

  it('a group of object writes, new keys and overwrites over two backends, leaves the tables as one by one would', async () => {
    await registerBackend(store, 'set-a', 0);
    await registerBackend(store, 'set-b', 0);
    const writer = new ObjectWriter(store);
    const keys = Array.from({ length: 8 }, (_, i) => `w${i}`);
    const burst = (size: number) => Promise.all(keys.map((k, i) => writer.write('set', k, size + i, i % 2 === 0 ? ['set-a'] : ['set-a', 'set-b'])));
    await burst(100);
    await burst(300);
    const usage = (await db.pool.query("SELECT backend, bytes_used::int AS used, object_count::int AS count, orphan_bytes::int AS orphan FROM backend_usage WHERE backend LIKE 'set-%' ORDER BY backend")).rows;
    const written = keys.reduce((n, _, i) => n + 300 + i, 0);
    const displaced = keys.reduce((n, _, i) => n + 100 + i, 0);
    const onB = keys.reduce((n, _, i) => (i % 2 === 1 ? n + 300 + i : n), 0);
    const displacedOnB = keys.reduce((n, _, i) => (i % 2 === 1 ? n + 100 + i : n), 0);
    expect(usage).toEqual([
      { backend: 'set-a', used: written, count: 8, orphan: displaced },
      { backend: 'set-b', used: onB, count: 4, orphan: displacedOnB },
    ]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM cleanup_queue WHERE reason = 'overwrite_displaced' AND backend LIKE 'set-%'")).rows[0]).toEqual({ n: 12 });
    const verified = await verifyProjections(db.pool, findProjections(undefined));
    expect(verified.filter((v) => !v.identical).map((v) => v.projection)).toEqual([]);
  });

  it('in a mixed group the object writes go at once, before the other appends; each append keeps its outcome, one stream its order', async () => {
    await registerBackend(store, 'mixed', 0);
    const writer = new ObjectWriter(store);
    const blocker = `cleanup-${randomUUID()}`;
    const stream = `cleanup-${randomUUID()}`;
    const taken = `cleanup-${randomUUID()}`;
    await store.appendToStreams([marker(taken)]);
    const settled = await Promise.allSettled([
      store.appendToStreams([marker(blocker)]),
      writer.write('mixed', 'm0', 10, ['mixed']),
      store.appendToStreams([marker(stream)]),
      writer.write('mixed', 'm1', 20, ['mixed']),
      store.appendToStreams([marker(taken, 'no_stream')]),
      store.appendToStreams([marker(stream, 0n)]),
      writer.write('mixed', 'm2', 30, ['mixed']),
    ]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[4] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    const objects = ['m0', 'm1', 'm2'].map((k) => objectStreamId('mixed', k));
    const rows = (await db.pool.query<{ stream_id: string; tx: string }>(
      'SELECT stream_id, tx_id::text AS tx FROM events WHERE stream_id = ANY($1::text[]) ORDER BY seq', [[...objects, stream]],
    )).rows;
    expect(new Set(rows.map((r) => r.tx)).size).toBe(1);
    expect(rows.map((r) => r.stream_id)).toEqual([...objects, stream, stream]);
    const usage = (await db.pool.query('SELECT bytes_used::int AS used, object_count::int AS count FROM backend_usage WHERE backend = $1', ['mixed'])).rows[0];
    expect(usage).toEqual({ used: 60, count: 3 });
    const verified = await verifyProjections(db.pool, findProjections(undefined));
    expect(verified.filter((v) => !v.identical).map((v) => v.projection)).toEqual([]);
  });

  it('onAppended is told about each append of a group once, after its commit', async () => {
    const seen: string[] = [];
    store.onAppended = (results) => seen.push(...results.map((r) => r.streamId));
    try {
      const streams = Array.from({ length: 5 }, () => `cleanup-${randomUUID()}`);
      await Promise.all(streams.map((s) => store.appendToStreams([marker(s)])));
      expect(seen.sort()).toEqual([...streams].sort());
    } finally {
      store.onAppended = undefined;
    }
  });
});
