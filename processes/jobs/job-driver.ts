import { decodeEvent } from '../../domain/events/codec.js';
import type { JobKind } from '../../domain/events/job-events.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { evolveJob, initialJobState, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';

/** Runs one kind of job until it is finished, cancelled, or `signal` says stop (lease lost, shutdown). */
export interface JobDriver {
  kind: JobKind;
  run(jobId: string, signal: AbortSignal): Promise<void>;
}

/** Replays a job's stream: the state a process manager resumes from after a crash. */
export async function loadJob(store: EventStore, jobId: string): Promise<JobState> {
  const read = await store.readStream(jobStreamId(jobId));
  let state = initialJobState(jobId);
  for (const e of read.events) {
    const ev = decodeEvent(e.type, e.schemaVersion, e.data);
    state = ev ? evolveJob(state, ev) : { ...state, revision: e.revision };
  }
  return state;
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}
