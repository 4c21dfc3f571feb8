import { revisionAfter, type StreamRevision } from '../decider.js';
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

/** A rewrite an encryption job started and has not settled: where its new bytes may be. */
export interface InFlightRewrite {
  rewriteId: string;
  bucket: string;
  key: string;
  writeId: string;
  targets: StoredCopy[];
}

export interface MoveFailure {
  attempts: number;
  retryAt: string;
}

/**
 * A job as its stream defines it: status, counters, the moves that were started but not
 * finished (a crash leaves them here, with the target they may have written to), the copies
 * whose moves failed, with when to retry them, and — for a job whose moves were planned when it
 * started (rebalance) — the planned moves already settled. Finished moves of other jobs are
 * forgotten, so the state stays small however many objects a drain moves.
 */
export interface JobState {
  jobId: string;
  revision: StreamRevision;
  status: JobStatus;
  kind: JobKind | undefined;
  backend: string | undefined;
  params: Record<string, unknown>;
  inFlight: ReadonlyMap<string, InFlightMove>;
  failures: ReadonlyMap<string, MoveFailure>;
  settled: ReadonlySet<string>;
  moved: number;
  dropped: number;
  skipped: number;
  movedBytes: number;
  /** Encryption jobs: objects whose bytes (or data key wrap) were rewritten, and rewrites not settled yet. */
  rewritten: number;
  rewritesInFlight: ReadonlyMap<string, InFlightRewrite>;
  /** Object versions (`versionKey`) whose rewrite failed in this run: not tried again until the next run. */
  rewritesFailed: ReadonlySet<string>;
  /** Events since the last checkpoint (or the start): the owner checkpoints when this grows large. */
  sinceCheckpoint: number;
}

export const rewriteJobKinds = ['encrypt-existing', 'decrypt-existing', 'rotate-encryption-key'] as const;
export type RewriteJobKind = (typeof rewriteJobKinds)[number];
export const isRewriteJob = (kind: JobKind | undefined): kind is RewriteJobKind => (rewriteJobKinds as readonly (string | undefined)[]).includes(kind);

export const jobStreamId = (jobId: string): string => `job-${jobId}`;
/** Failures are remembered per copy (object version + source backend). */
export const copyKey = (bucket: string, key: string, writeId: string, from: string): string => `${bucket}/${key}~${writeId}@${from}`;
/** The object version (without the source backend) a failure key names. */
export const versionOfCopyKey = (k: string): string => k.slice(0, k.lastIndexOf('@'));
/** An encryption job remembers its failures per object version (it tries each once per run). */
export const versionKey = (bucket: string, key: string, writeId: string): string => `${bucket}/${key}~${writeId}`;

export function initialJobState(jobId: string): JobState {
  return {
    jobId, revision: 'no_stream', status: 'new', kind: undefined, backend: undefined, params: {},
    inFlight: new Map(), failures: new Map(), settled: new Set(), moved: 0, dropped: 0, skipped: 0, movedBytes: 0,
    rewritten: 0, rewritesInFlight: new Map(), rewritesFailed: new Set(), sinceCheckpoint: 0,
  };
}

type MoveSettled = EventData<'MoveCompleted'> | EventData<'MoveSkipped'> | EventData<'MoveFailed'>;

/** A settled move leaves the in-flight set; a planned job remembers it as done. */
function settle(state: JobState, d: MoveSettled): JobState {
  const inFlight = new Map(state.inFlight);
  inFlight.delete(d.moveId);
  const settled = state.kind === 'rebalance' ? new Set(state.settled).add(d.moveId) : state.settled;
  return { ...state, inFlight, settled };
}

function withoutFailure(state: JobState, d: EventData<'MoveCompleted'>): ReadonlyMap<string, MoveFailure> {
  const k = copyKey(d.bucket, d.key, d.writeId, d.from);
  if (!state.failures.has(k)) return state.failures;
  const failures = new Map(state.failures);
  failures.delete(k);
  return failures;
}

function withoutRewrite(state: JobState, rewriteId: string): JobState {
  if (!state.rewritesInFlight.has(rewriteId)) return state;
  const rewritesInFlight = new Map(state.rewritesInFlight);
  rewritesInFlight.delete(rewriteId);
  return { ...state, rewritesInFlight };
}

function restore(state: JobState, d: EventData<'JobCheckpointed'>): JobState {
  return {
    ...state, status: 'running', kind: d.kind, backend: d.backend, params: d.params,
    moved: d.moved, dropped: d.dropped, skipped: d.skipped, movedBytes: d.movedBytes,
    inFlight: new Map(d.inFlight.map((m) => [m.moveId, m])),
    failures: new Map(d.failures.map((f) => [f.copy, { attempts: f.attempts, retryAt: f.retryAt }])),
    settled: new Set(d.settled),
    rewritten: d.rewritten ?? 0,
    rewritesInFlight: new Map((d.rewritesInFlight ?? []).map((r) => [r.rewriteId, r])),
    rewritesFailed: new Set(d.rewritesFailed ?? []),
    sinceCheckpoint: 0,
  };
}

/** Folds one event of the job's stream into its state. */
export function evolveJob(prev: JobState, event: DomainEvent): JobState {
  const state: JobState = { ...prev, revision: revisionAfter(prev.revision), sinceCheckpoint: prev.sinceCheckpoint + 1 };
  switch (event.type) {
    case 'JobStarted':
      return { ...state, status: 'running', kind: event.data.kind, backend: event.data.backend, params: event.data.params };
    case 'MoveStarted': {
      const d = event.data;
      return { ...state, inFlight: new Map(state.inFlight).set(d.moveId, { moveId: d.moveId, bucket: d.bucket, key: d.key, writeId: d.writeId, from: d.from, to: d.to }) };
    }
    case 'MoveCompleted': {
      const d = event.data;
      return {
        ...settle(state, d), failures: withoutFailure(state, d),
        moved: state.moved + (d.to ? 1 : 0), dropped: state.dropped + (d.to ? 0 : 1), movedBytes: state.movedBytes + d.bytes,
      };
    }
    case 'MoveSkipped':
      return { ...settle(state, event.data), skipped: state.skipped + 1 };
    case 'MoveFailed': {
      const d = event.data;
      const failures = new Map(state.failures).set(copyKey(d.bucket, d.key, d.writeId, d.from), { attempts: d.attempt, retryAt: d.retryAt });
      return { ...settle(state, d), failures };
    }
    case 'RewriteStarted': {
      const d = event.data;
      return { ...state, rewritesInFlight: new Map(state.rewritesInFlight).set(d.rewriteId, { rewriteId: d.rewriteId, bucket: d.bucket, key: d.key, writeId: d.writeId, targets: d.targets }) };
    }
    case 'RewriteCompleted':
      return { ...withoutRewrite(state, event.data.rewriteId), rewritten: state.rewritten + 1, movedBytes: state.movedBytes + event.data.bytesAfter };
    case 'RewriteSkipped':
      return { ...withoutRewrite(state, event.data.rewriteId), skipped: state.skipped + 1 };
    case 'RewriteFailed': {
      const d = event.data;
      return { ...withoutRewrite(state, d.rewriteId), rewritesFailed: new Set(state.rewritesFailed).add(versionKey(d.bucket, d.key, d.writeId)) };
    }
    case 'JobCheckpointed':
      return restore(state, event.data);
    case 'JobCompleted':
      return { ...state, status: 'completed', inFlight: new Map(), rewritesInFlight: new Map() };
    case 'JobCancelled':
      return { ...state, status: 'cancelled', inFlight: new Map(), rewritesInFlight: new Map() };
    case 'JobFailed':
      return { ...state, status: 'failed', inFlight: new Map(), rewritesInFlight: new Map() };
    default:
      return state;
  }
}

/** The checkpoint that holds `state` (a running job's). */
export function checkpointOf(state: JobState): EventData<'JobCheckpointed'> {
  if (state.kind === undefined) throw new Error(`job ${state.jobId} has not started`);
  const data: EventData<'JobCheckpointed'> = {
    jobId: state.jobId, kind: state.kind, params: state.params,
    moved: state.moved, dropped: state.dropped, skipped: state.skipped, movedBytes: state.movedBytes,
    inFlight: [...state.inFlight.values()].map((m) => ({ moveId: m.moveId, bucket: m.bucket, key: m.key, writeId: m.writeId, from: m.from, to: m.to })),
    failures: [...state.failures].map(([copy, f]) => ({ copy, attempts: f.attempts, retryAt: f.retryAt })),
    settled: [...state.settled],
  };
  if (state.backend !== undefined) data.backend = state.backend;
  if (isRewriteJob(state.kind)) {
    data.rewritten = state.rewritten;
    data.rewritesInFlight = [...state.rewritesInFlight.values()].map((r) => ({ rewriteId: r.rewriteId, bucket: r.bucket, key: r.key, writeId: r.writeId, targets: r.targets }));
    data.rewritesFailed = [...state.rewritesFailed];
  }
  return data;
}
