import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore, ReadStreamOptions, StreamAppend } from '../../domain/eventstore/port.js';
import { checkpointEvery, decideJob, type MoveRef } from '../../domain/jobs/job-decider.js';
import { evolveJob, initialJobState, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { JobStreamWriter } from '../../processes/jobs/job-stream-writer.js';
import { createEventFactory } from '../../services/event-factory.js';
import { loadJob } from '../../services/jobs/job-stream.js';
import { newEvent, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

const move = (jobId: string, n: number): MoveRef => ({ jobId, moveId: `M${n}`, bucket: 'alpha', key: `k${n}`, writeId: `W${n}` });
const to = (n: number) => ({ backend: 'b2', storageKey: `alpha/k${n}~W${n}-M${n}`, size: 1 });

/** A store that counts the events its stream reads return. */
function counting(store: EventStore): { store: EventStore; read: () => number } {
  let read = 0;
  const wrapped: EventStore = Object.create(store) as EventStore;
  wrapped.readStream = async (streamId: string, opts?: ReadStreamOptions) => {
    const res = await store.readStream(streamId, opts);
    read += res.events.length;
    return res;
  };
  return { store: wrapped, read: () => read };
}

/** Appends a drain's history of `moves` started and completed moves, as the decider decides them, without checkpoints. */
async function appendHistory(store: EventStore, jobId: string, moves: number): Promise<JobState> {
  let state = initialJobState(jobId);
  const decide = (command: Parameters<typeof decideJob>[0]): DomainEvent[] => {
    const events = decideJob(command, state);
    state = events.reduce((s, e) => evolveJob(s, e), state);
    return events;
  };
  const pending: DomainEvent[] = decide({ type: 'Start', start: { jobId, kind: 'drain', backend: 'b1', objectsTotal: moves, bytesTotal: moves, params: {} } });
  let expected: bigint | 'no_stream' = 'no_stream';
  for (let n = 0; n < moves; n++) {
    pending.push(...decide({ type: 'StartMove', move: move(jobId, n), from: 'b1', to: to(n) }));
    pending.push(...decide({ type: 'CompleteMove', move: move(jobId, n), from: 'b1', to: to(n), bytes: 1 }));
    if (pending.length >= 1000 || n === moves - 1) {
      const res = await store.appendToStream(jobStreamId(jobId), pending.splice(0).map((e) => newEvent(e.type, e.data)), { expected });
      expected = res.nextRevision;
    }
  }
  return { ...state, revision: expected };
}

describe('a job stream longer than a read page', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  const events = createEventFactory('test');

  beforeAll(async () => {
    db = await createMigratedDatabase();
    // Pages far shorter than the streams, so every read below crosses pages.
    store = new PostgresEventStore(db.pool, { readPageSize: 100 });
  });
  afterAll(async () => db.close());

  it('a job written before checkpoints loads whole, at its revision, and its owner appends expecting that revision', async () => {
    // 2 × 2,600 + 1 events: past the look-back limit, so loadJob folds the stream from its start, page by page.
    const written = await appendHistory(store, 'J-old', 2_600);
    const loaded = await loadJob(store, 'J-old');
    expect(loaded.revision).toBe(5_200n);
    expect(loaded).toEqual(written);
    const owner = new JobStreamWriter(store, events, { actor: 'system:drain' }, loaded);
    await owner.record({ type: 'StartMove', move: move('J-old', 9_999), from: 'b1', to: to(9_999) });
    // Its move, and a checkpoint: the stream is long past the checkpoint interval.
    expect(owner.state.revision).toBe(5_202n);
    const tail = await store.readStream(jobStreamId('J-old'), { direction: 'backwards', maxCount: 2 });
    expect(tail.events.map((e) => e.type)).toEqual(['JobCheckpointed', 'MoveStarted']);
  });

  it('a checkpointed job loads from its last checkpoint: the events read are bounded by the checkpoint interval, not the stream', async () => {
    const start = await appendHistory(store, 'J-new', 1);
    const owner = new JobStreamWriter(store, events, { actor: 'system:drain' }, start);
    for (let n = 1; n <= 1_300; n++) {
      await owner.record({ type: 'StartMove', move: move('J-new', n), from: 'b1', to: to(n) });
      await owner.record({ type: 'CompleteMove', move: move('J-new', n), from: 'b1', to: to(n), bytes: 1 });
    }
    const { store: reads, read } = counting(store);
    const loaded = await loadJob(reads, 'J-new');
    expect(loaded.revision).toBe(owner.state.revision);
    expect(loaded.moved).toBe(1_301);
    // Back to the last checkpoint (at most checkpointEvery events back), in pages of 256.
    expect(read()).toBeLessThanOrEqual(checkpointEvery + 256);
    const again = new JobStreamWriter(store, events, { actor: 'system:drain' }, loaded);
    await again.record({ type: 'Complete' });
    expect((await store.readStream(jobStreamId('J-new'), { direction: 'backwards', maxCount: 1 })).events[0]?.type).toBe('JobCompleted');
  });

  it('a move or rewrite started again while in flight (resumed after a crash, taken over) names the target it gives up, and counts once in the jobs projection\'s in_flight', async () => {
    const inFlight = async (jobId: string): Promise<number> =>
      Number((await db.pool.query<{ n: string }>('SELECT in_flight AS n FROM jobs WHERE job_id = $1', [jobId])).rows[0]?.n);
    const last = async (jobId: string): Promise<unknown> =>
      (await store.readStream(jobStreamId(jobId), { direction: 'backwards', maxCount: 1 })).events[0]?.data;

    const owner = new JobStreamWriter(store, events, { actor: 'system:drain' }, await appendHistory(store, 'J-resume', 1));
    await owner.record({ type: 'StartMove', move: move('J-resume', 1), from: 'b1', to: to(1) });
    await owner.record({ type: 'StartMove', move: move('J-resume', 2), from: 'b1', to: to(2) });
    // The next owner resumes from the stream and gives move 1 a new target.
    const next = new JobStreamWriter(store, events, { actor: 'system:drain' }, await loadJob(store, 'J-resume'));
    const again = { ...to(1), storageKey: `${to(1).storageKey}-2` };
    await next.record({ type: 'StartMove', move: move('J-resume', 1), from: 'b1', to: again });
    expect(await last('J-resume')).toMatchObject({ to: again, replaces: to(1) });
    expect(await inFlight('J-resume')).toBe(2);
    await next.record({ type: 'CompleteMove', move: move('J-resume', 1), from: 'b1', to: again, bytes: 1 });
    expect(await inFlight('J-resume')).toBe(1);

    const rewrite = { jobId: 'J-rewrite', rewriteId: 'R1', bucket: 'alpha', key: 'k1', writeId: 'W1' };
    const start = { jobId: 'J-rewrite', kind: 'encrypt-existing' as const, objectsTotal: 1, bytesTotal: 1, params: {} };
    await store.appendToStream(jobStreamId('J-rewrite'), [newEvent('JobStarted', start)], { expected: 'no_stream' });
    const encrypting = new JobStreamWriter(store, events, { actor: 'system:encrypt-existing' }, await loadJob(store, 'J-rewrite'));
    await encrypting.record({ type: 'StartRewrite', rewrite, targets: [to(1)] });
    const taker = new JobStreamWriter(store, events, { actor: 'system:encrypt-existing' }, await loadJob(store, 'J-rewrite'));
    await taker.record({ type: 'StartRewrite', rewrite, targets: [again] });
    expect(await last('J-rewrite')).toMatchObject({ targets: [again], replaces: [to(1)] });
    expect(await inFlight('J-rewrite')).toBe(1);
    await taker.record({ type: 'CompleteRewrite', rewrite, bytesBefore: 1, bytesAfter: 1 });
    expect(await inFlight('J-rewrite')).toBe(0);
  });

  it('steps recorded while an append commits share the next append; a refused step fails alone and the job stays as written', async () => {
    const start = await appendHistory(store, 'J-batch', 1);
    await registerBackend(store, 'small', 100);
    let appends = 0;
    const countingStore: EventStore = Object.create(store) as EventStore;
    countingStore.appendToStreams = (a) => {
      appends++;
      return store.appendToStreams(a);
    };
    const owner = new JobStreamWriter(countingStore, events, { actor: 'system:drain' }, start);
    // Each step carries another stream's append, as a move's completion carries its object's; one expects a revision
    // its stream never had, and one reserves more room on its target than the target's quota.
    const note = (n: number, expected: StreamAppend['expected']): StreamAppend => ({
      streamId: `note-J-batch-${n}`, events: [newEvent('AdminCommandIssued', { command: 'note', args: { n } })], expected,
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => {
      const n = i + 1;
      const target = n === 30 ? { ...to(n), backend: 'small', size: 1_000 } : to(n);
      return owner.record({ type: 'StartMove', move: move('J-batch', n), from: 'b1', to: target }, [note(n, n === 17 ? 3n : 'no_stream')]);
    }));
    const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ n: i + 1, err: o.reason as unknown }] : []));
    expect(refused.map((r) => r.n)).toEqual([17, 30]);
    expect(refused[0]?.err).toBeInstanceOf(ConcurrencyError);
    expect(refused[1]?.err).toBeInstanceOf(InvariantViolationError);
    // Far fewer appends than steps: the steps queued behind one commit went together, and the refused ones were found
    // without appending each step alone.
    expect(appends).toBeLessThan(20);
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'fulfilled') expect(o.value.map((r) => r.streamId).sort()).toEqual([jobStreamId('J-batch'), `note-J-batch-${i + 1}`].sort());
    }
    expect(owner.state.inFlight.size).toBe(38);
    expect(await loadJob(store, 'J-batch')).toEqual(owner.state);
    expect((await store.readStream('note-J-batch-17')).events).toHaveLength(0);
    expect((await store.readStream('note-J-batch-18')).events).toHaveLength(1);
  });
});
