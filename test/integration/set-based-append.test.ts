import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { StreamAppend } from '../../domain/eventstore/port.js';
import { objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { verifyProjections } from '../../projections/rebuild.js';
import { findProjections } from '../../projections/registry.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/**
 * An append of several events whose types the projections apply set-based (a job's moves, the
 * reclaimer's CleanupSucceeded) writes its streams and events with a few statements for the whole
 * append and projects a run of one type at a time. It must leave what one event at a time would
 * (verify replays the log one by one and compares), and keep every verdict: expected revisions,
 * retries, quotas, the copy-of-current-version check.
 */
describe('set-based multi-stream appends', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let objects: ObjectWriter;
  const job = 'job-j1';
  const usage = async (backend: string) =>
    (await db.pool.query('SELECT bytes_used::int AS used, object_count::int AS count, orphan_bytes::int AS orphan, pending_bytes::int AS pending FROM backend_usage WHERE backend = $1', [backend])).rows[0];
  const revision = async (stream: string) =>
    (await db.pool.query<{ r: string }>('SELECT revision::text AS r FROM streams WHERE stream_id = $1', [stream])).rows[0]?.r;
  const ref = (o: ObjectState, n: number) => ({ jobId: 'j1', moveId: `m${n}`, bucket: o.bucket, key: o.key, writeId: o.current?.writeId ?? '' });
  const target = (n: number, size: number) => ({ backend: 'dst', storageKey: `moved/${n}`, size });
  const source = (o: ObjectState, n: number) => ({ ...(o.current?.copies[0] ?? { backend: '', storageKey: '', size: 0 }), cleanupId: `c${n}` });
  /** A job's completed moves: MoveCompleted on the job stream, CopyMoved on each object's, in one append. */
  const completion = (jobRevision: bigint, moved: { o: ObjectState; n: number }[], expected?: bigint): StreamAppend[] => [
    { streamId: job, expected: jobRevision, events: moved.map(({ o, n }) => newEvent('MoveCompleted', { ...ref(o, n), from: 'src', to: target(n, 10), bytes: 10 })) },
    ...moved.map(({ o, n }) => ({
      streamId: objectStreamId(o.bucket, o.key), expected: expected ?? o.revision,
      events: [newEvent('CopyMoved', { ...ref(o, n), from: source(o, n), to: target(n, 10) })],
    })),
  ];
  const verified = async () => (await verifyProjections(db.pool, findProjections(undefined))).filter((v) => !v.identical).map((v) => v.projection);

  let written: ObjectState[] = [];

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    objects = new ObjectWriter(store);
    await registerBackend(store, 'src', 0);
    await registerBackend(store, 'dst', 100);
    written = [];
    for (let i = 0; i < 5; i++) written.push(await objects.write('b', `k${i}`, 10, ['src']));
    await store.appendToStream(job, [newEvent('JobStarted', { jobId: 'j1', kind: 'drain', backend: 'src', objectsTotal: 5, bytesTotal: 50, params: {} })], { expected: 'no_stream' });
  });
  afterAll(async () => db.close());

  it('given moves started together, when their completions and CopyMoved go in one append, then the tables are as one by one', async () => {
    const [a, b, c] = written as [ObjectState, ObjectState, ObjectState];
    await store.appendToStream(job, [a, b, c].map((o, n) => newEvent('MoveStarted', { ...ref(o, n), from: 'src', to: target(n, 10) })), { expected: 0n });
    expect(await usage('dst')).toMatchObject({ pending: 30, used: 0 });
    expect((await db.pool.query('SELECT in_flight::int FROM jobs')).rows[0]).toEqual({ in_flight: 3 });

    const results = await store.appendToStreams(completion(3n, [{ o: a, n: 0 }, { o: b, n: 1 }, { o: c, n: 2 }]));

    expect(results.map((r) => [r.streamId, r.nextRevision, r.alreadyAppended])).toEqual([
      [job, 6n, false], ...[a, b, c].map((o) => [objectStreamId(o.bucket, o.key), 1n, false]),
    ]);
    expect(await usage('dst')).toMatchObject({ pending: 0, used: 30, count: 3 });
    expect(await usage('src')).toMatchObject({ used: 20, count: 2, orphan: 30 });
    expect((await db.pool.query('SELECT moved::int, moved_bytes::int, in_flight::int FROM jobs')).rows[0]).toEqual({ moved: 3, moved_bytes: 30, in_flight: 0 });
    expect((await db.pool.query("SELECT key, backend, stream_revision::int AS rev FROM object_copies JOIN objects USING (bucket, key) WHERE key IN ('k0','k1','k2') ORDER BY key")).rows)
      .toEqual(['k0', 'k1', 'k2'].map((key) => ({ key, backend: 'dst', rev: 1 })));
    expect((await db.pool.query("SELECT id FROM cleanup_queue WHERE reason = 'move_source' ORDER BY id")).rows.map((r) => r.id)).toEqual(['c0', 'c1', 'c2']);
    expect(await verified()).toEqual([]);
  });

  it('given orphans of the moves, when the reclaimer closes them in one append and retries it, then the retry answers as already appended', async () => {
    const closing = ['c0', 'c1', 'c2'].map((id): StreamAppend => ({
      streamId: `cleanup-${id}`, expected: 'any', events: [newEvent('CleanupSucceeded', { attempt: 1, backend: 'src', size: 10 })],
    }));

    const first = await store.appendToStreams(closing);
    const retried = await store.appendToStreams(closing);

    expect(first.map((r) => r.alreadyAppended)).toEqual([false, false, false]);
    expect(retried.map((r) => [r.nextRevision, r.alreadyAppended, r.position])).toEqual(first.map((r) => [r.nextRevision, true, r.position]));
    expect(await usage('src')).toMatchObject({ orphan: 0 });
    expect((await db.pool.query("SELECT count(*)::int AS n FROM cleanup_queue WHERE reason = 'move_source'")).rows[0]).toEqual({ n: 0 });
    expect(await verified()).toEqual([]);
  });

  it('given a multi-stream append with a refused expected revision, when it goes with another append, then it alone fails and writes nothing', async () => {
    const [, , , d, e] = written as ObjectState[] as [ObjectState, ObjectState, ObjectState, ObjectState, ObjectState];
    const jobBefore = await revision(job);
    await store.appendToStream(job, [d, e].map((o, n) => newEvent('MoveStarted', { ...ref(o, n + 3), from: 'src', to: target(n + 3, 10) })), { expected: BigInt(jobBefore as string) });
    const jobRevision = BigInt(jobBefore as string) + 2n;
    const refused = completion(jobRevision, [{ o: d, n: 3 }], 7n);
    const other: StreamAppend[] = [{ streamId: 'cleanup-other', expected: 'no_stream', events: [newEvent('CleanupSucceeded', { attempt: 1, backend: 'none', size: 0 })] },
      { streamId: 'cleanup-other2', expected: 'no_stream', events: [newEvent('CleanupSucceeded', { attempt: 1, backend: 'none', size: 0 })] }];

    const [r1, r2] = await Promise.allSettled([store.appendToStreams(refused), store.appendToStreams(other)]);

    expect(r1.status).toBe('rejected');
    expect((r1 as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect(((r1 as PromiseRejectedResult).reason as ConcurrencyError).streamId).toBe(objectStreamId(d.bucket, d.key));
    expect(r2.status).toBe('fulfilled');
    expect(await revision(job)).toBe(String(jobRevision));
    expect(await usage('dst')).toMatchObject({ pending: 20, used: 30 });
  });

  it('given a target nearly full, when moves started together would overfill it, then the append is refused with the quota and nothing is reserved', async () => {
    const [, , , d] = written as [ObjectState, ObjectState, ObjectState, ObjectState];
    const jobRevision = BigInt(await revision(job) as string);
    const big = (n: number) => newEvent('MoveStarted', { ...ref(d, n), from: 'src', to: { backend: 'dst', storageKey: `big/${n}`, size: 30 } });

    const err = await store.appendToStream(job, [big(10), big(11)], { expected: jobRevision }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvariantViolationError);
    expect(err).toMatchObject({ invariant: 'quota', detail: { backend: 'dst' } });
    expect(await revision(job)).toBe(String(jobRevision));
    expect(await usage('dst')).toMatchObject({ pending: 20 });
  });

  it('given moves of a version no longer current, when they complete together, then the append is refused as one by one refuses it', async () => {
    const [, , , d, e] = written as [ObjectState, ObjectState, ObjectState, ObjectState, ObjectState];
    const jobRevision = BigInt(await revision(job) as string);
    const stale = { ...d, current: d.current ? { ...d.current, writeId: 'not-current' } : undefined } as ObjectState;

    const err = await store.appendToStreams(completion(jobRevision, [{ o: stale, n: 3 }, { o: e, n: 4 }])).catch((x: unknown) => x);

    expect(err).toBeInstanceOf(InvariantViolationError);
    expect(err).toMatchObject({ invariant: 'copy_of_current_version', detail: { key: d.key, writeId: 'not-current' } });
    expect(await revision(objectStreamId(e.bucket, e.key))).toBe('0');

    await store.appendToStreams(completion(jobRevision, [{ o: d, n: 3 }, { o: e, n: 4 }]));
    expect(await usage('dst')).toMatchObject({ pending: 0, used: 50, count: 5 });
    expect(await verified()).toEqual([]);
  });
});
