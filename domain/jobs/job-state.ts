import type { StoredCopy } from '../events/common.js';
import type { DomainEvent, EventData } from '../events/catalog.js';
import type { JobKind } from '../events/job-events.js';

export type JobStatus = 'new' | 'running' | 'completed' | 'cancelled' | 'failed';

export interface InFlightMove {
  moveId: string;
  bucket: string;
  key: string;
  writeId: string;
  from: string;
  to: StoredCopy;
}

export interface MoveFailure {
  attempts: number;
  retryAt: string;
}

/**
 * A job as its stream defines it: status, counters, the moves that were started but not
 * finished (a crash leaves them here, with the target they may have written to), and the
 * copies whose moves failed, with when to retry them. Bounded: finished moves are forgotten.
 */
export interface JobState {
  jobId: string;
  revision: bigint | 'no_stream';
  status: JobStatus;
  kind: JobKind | undefined;
  backend: string | undefined;
  params: Record<string, unknown>;
  inFlight: Map<string, InFlightMove>;
  failures: Map<string, MoveFailure>;
  moved: number;
  dropped: number;
  skipped: number;
  movedBytes: number;
}

export const jobStreamId = (jobId: string): string => `job-${jobId}`;
/** Failures are remembered per copy (object version + source backend). */
export const copyKey = (bucket: string, key: string, writeId: string, from: string): string => `${bucket}/${key}~${writeId}@${from}`;

export function initialJobState(jobId: string): JobState {
  return {
    jobId, revision: 'no_stream', status: 'new', kind: undefined, backend: undefined, params: {},
    inFlight: new Map(), failures: new Map(), moved: 0, dropped: 0, skipped: 0, movedBytes: 0,
  };
}

function settle(state: JobState, d: { moveId: string }): void {
  state.inFlight.delete(d.moveId);
}

/** Folds one event of the job's stream into its state (mutates a copy). */
export function evolveJob(prev: JobState, event: DomainEvent): JobState {
  const state: JobState = { ...prev, revision: prev.revision === 'no_stream' ? 0n : prev.revision + 1n };
  switch (event.type) {
    case 'JobStarted':
      return { ...state, status: 'running', kind: event.data.kind, backend: event.data.backend, params: event.data.params };
    case 'MoveStarted': {
      const d: EventData<'MoveStarted'> = event.data;
      state.inFlight = new Map(state.inFlight).set(d.moveId, { moveId: d.moveId, bucket: d.bucket, key: d.key, writeId: d.writeId, from: d.from, to: d.to });
      return state;
    }
    case 'MoveCompleted': {
      state.inFlight = new Map(state.inFlight);
      settle(state, event.data);
      state.failures = new Map(state.failures);
      state.failures.delete(copyKey(event.data.bucket, event.data.key, event.data.writeId, event.data.from));
      if (event.data.to) state.moved += 1;
      else state.dropped += 1;
      state.movedBytes += event.data.bytes;
      return state;
    }
    case 'MoveSkipped':
      state.inFlight = new Map(state.inFlight);
      settle(state, event.data);
      state.skipped += 1;
      return state;
    case 'MoveFailed': {
      state.inFlight = new Map(state.inFlight);
      settle(state, event.data);
      const k = copyKey(event.data.bucket, event.data.key, event.data.writeId, event.data.from);
      state.failures = new Map(state.failures).set(k, { attempts: event.data.attempt, retryAt: event.data.retryAt });
      return state;
    }
    case 'JobCompleted':
      return { ...state, status: 'completed', inFlight: new Map() };
    case 'JobCancelled':
      return { ...state, status: 'cancelled', inFlight: new Map() };
    case 'JobFailed':
      return { ...state, status: 'failed', inFlight: new Map() };
    default:
      return state;
  }
}
