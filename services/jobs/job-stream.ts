import type { EventStore, RecordedEvent } from '../../domain/eventstore/port.js';
import { evolveJob, initialJobState, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import { foldRecorded, foldStream } from '../commands/fold-stream.js';

/** Events read per round trip when looking back for the last checkpoint. */
const backPage = 256;
/** Read back this far without finding a checkpoint, a stream (written before checkpoints) is folded from its start instead. */
const lookBackLimit = 4096;

/**
 * A job's state with its stream revision: the last checkpoint (JobCheckpointed, which holds the
 * state folded up to it) and the events after it. Its owner checkpoints every few hundred
 * events, so this reads a bounded tail however long the job has run.
 */
export async function loadJob(store: EventStore, jobId: string): Promise<JobState> {
  const streamId = jobStreamId(jobId);
  const newestFirst: RecordedEvent[] = [];
  let from: bigint | undefined;
  for (;;) {
    const page = await store.readStream(streamId, { direction: 'backwards', maxCount: backPage, ...(from === undefined ? {} : { fromRevision: from }) });
    const checkpoint = page.events.findIndex((e) => e.type === 'JobCheckpointed');
    newestFirst.push(...(checkpoint >= 0 ? page.events.slice(0, checkpoint + 1) : page.events));
    const last = page.events[page.events.length - 1];
    if (checkpoint >= 0 || !last || last.revision === 0n) return foldRecorded(initialJobState(jobId), newestFirst.reverse(), evolveJob);
    if (newestFirst.length >= lookBackLimit) return foldStream(store, streamId, initialJobState(jobId), evolveJob);
    from = last.revision - 1n;
  }
}

/** What was appended to a job's stream after `state` (by another writer: an operator's cancel). */
export function catchUpJob(store: EventStore, state: JobState): Promise<JobState> {
  const fromRevision = state.revision === 'no_stream' ? 0n : state.revision + 1n;
  return foldStream(store, jobStreamId(state.jobId), state, evolveJob, { fromRevision });
}
