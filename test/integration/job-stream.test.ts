import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/events/catalog.js';
import type { EventStore, ReadStreamOptions } from '../../domain/eventstore/port.js';
import { checkpointEvery, decideJob, type MoveRef } from '../../domain/jobs/job-decider.js';
import { evolveJob, initialJobState, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { JobStreamWriter } from '../../processes/jobs/job-stream-writer.js';
import { createEventFactory } from '../../services/event-factory.js';
import { loadJob } from '../../services/jobs/job-stream.js';
import { newEvent } from '../support/object-events.js';
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
});
