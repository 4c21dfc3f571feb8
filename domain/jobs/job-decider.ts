import { DomainError } from '../errors.js';
import type { StoredCopy } from '../events/common.js';
import type { DomainEvent, EventData } from '../events/catalog.js';
import { checkpointOf, isRewriteJob, type JobState } from './job-state.js';

/** The object version a move is about, and the job and move it belongs to. */
export type MoveRef = Pick<EventData<'MoveStarted'>, 'jobId' | 'moveId' | 'bucket' | 'key' | 'writeId'>;

/** The object version a rewrite (encryption jobs) is about, and the job it belongs to. */
export type RewriteRef = Pick<EventData<'RewriteStarted'>, 'jobId' | 'rewriteId' | 'bucket' | 'key' | 'writeId'>;

/** What can happen to a job: its start, its moves' steps, checkpoints, and its end. */
export type JobCommand =
  | { type: 'Start'; start: EventData<'JobStarted'> }
  | { type: 'StartMove'; move: MoveRef; from: string; to: StoredCopy }
  | { type: 'CompleteMove'; move: MoveRef; from: string; to: StoredCopy | null; bytes: number }
  | { type: 'SkipMove'; move: MoveRef; reason: string }
  | { type: 'FailMove'; move: MoveRef; from: string; attempt: number; error: string; retryAt: string }
  | { type: 'StartRewrite'; rewrite: RewriteRef; targets: StoredCopy[] }
  | { type: 'CompleteRewrite'; rewrite: RewriteRef; bytesBefore: number; bytesAfter: number }
  | { type: 'SkipRewrite'; rewrite: RewriteRef; reason: string }
  | { type: 'FailRewrite'; rewrite: RewriteRef; error: string }
  | { type: 'Checkpoint' }
  | { type: 'Complete' }
  | { type: 'Cancel' }
  | { type: 'Fail'; error: string };

type Event<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;
export type JobEvent = Event<'JobStarted' | 'MoveStarted' | 'MoveCompleted' | 'MoveSkipped' | 'MoveFailed' | 'JobCheckpointed' |
  'RewriteStarted' | 'RewriteCompleted' | 'RewriteSkipped' | 'RewriteFailed' | 'JobCompleted' | 'JobCancelled' | 'JobFailed'>;

/** Events a job's owner appends this many apart at most are followed by a checkpoint. */
export const checkpointEvery = 500;

function requireRunning(state: JobState, what: string): void {
  if (state.status !== 'running') throw new DomainError('Conflict', `job ${state.jobId} is ${state.status}: cannot ${what}`);
}

function requireOwnMove(state: JobState, move: MoveRef): void {
  if (move.jobId !== state.jobId) throw new DomainError('InternalError', `move ${move.moveId} belongs to job ${move.jobId}, not ${state.jobId}`);
}

/** Only an encryption job rewrites objects, and only its own rewrites. */
function requireOwnRewrite(state: JobState, rewrite: RewriteRef, what: string): void {
  requireRunning(state, what);
  if (!isRewriteJob(state.kind)) throw new DomainError('InternalError', `a ${state.kind ?? 'new'} job does not rewrite objects`);
  if (rewrite.jobId !== state.jobId) throw new DomainError('InternalError', `rewrite ${rewrite.rewriteId} belongs to job ${rewrite.jobId}, not ${state.jobId}`);
}

/**
 * A job starts once; every step of it — a move started, completed, skipped or failed — and its
 * end are recorded only while it runs, so a cancelled job takes no further step.
 */
export function decideJob(command: JobCommand, state: JobState): JobEvent[] {
  switch (command.type) {
    case 'Start':
      if (state.status !== 'new') throw new DomainError('Conflict', `job ${state.jobId} has already started`);
      if (command.start.jobId !== state.jobId) throw new DomainError('InternalError', `job ${command.start.jobId} started on the stream of ${state.jobId}`);
      return [{ type: 'JobStarted', data: command.start }];
    case 'StartMove':
      requireRunning(state, 'start a move');
      requireOwnMove(state, command.move);
      {
        // A move started again while in flight names the target it gives up: it is still one move.
        const prior = state.inFlight.get(command.move.moveId)?.to;
        return [{ type: 'MoveStarted', data: { ...command.move, from: command.from, to: command.to, ...(prior ? { replaces: prior } : {}) } }];
      }
    case 'CompleteMove':
      requireRunning(state, 'complete a move');
      requireOwnMove(state, command.move);
      return [{ type: 'MoveCompleted', data: { ...command.move, from: command.from, to: command.to, bytes: command.bytes } }];
    case 'SkipMove':
      requireRunning(state, 'skip a move');
      requireOwnMove(state, command.move);
      return [{ type: 'MoveSkipped', data: { ...command.move, reason: command.reason } }];
    case 'FailMove':
      requireRunning(state, 'record a failed move');
      requireOwnMove(state, command.move);
      return [{ type: 'MoveFailed', data: { ...command.move, from: command.from, attempt: command.attempt, error: command.error, retryAt: command.retryAt } }];
    case 'StartRewrite':
      requireOwnRewrite(state, command.rewrite, 'start a rewrite');
      if (command.targets.length === 0) throw new DomainError('InternalError', `rewrite ${command.rewrite.rewriteId} names no target`);
      {
        const prior = state.rewritesInFlight.get(command.rewrite.rewriteId)?.targets;
        return [{ type: 'RewriteStarted', data: { ...command.rewrite, targets: command.targets, ...(prior ? { replaces: prior } : {}) } }];
      }
    case 'CompleteRewrite':
      requireOwnRewrite(state, command.rewrite, 'complete a rewrite');
      return [{ type: 'RewriteCompleted', data: { ...command.rewrite, bytesBefore: command.bytesBefore, bytesAfter: command.bytesAfter } }];
    case 'SkipRewrite':
      requireOwnRewrite(state, command.rewrite, 'skip a rewrite');
      return [{ type: 'RewriteSkipped', data: { ...command.rewrite, reason: command.reason } }];
    case 'FailRewrite':
      requireOwnRewrite(state, command.rewrite, 'record a failed rewrite');
      return [{ type: 'RewriteFailed', data: { ...command.rewrite, error: command.error } }];
    case 'Checkpoint':
      return state.status === 'running' ? [{ type: 'JobCheckpointed', data: checkpointOf(state) }] : [];
    case 'Complete':
      requireRunning(state, 'complete');
      return [{ type: 'JobCompleted', data: { jobId: state.jobId } }];
    case 'Cancel':
      requireRunning(state, 'cancel');
      return [{ type: 'JobCancelled', data: { jobId: state.jobId } }];
    case 'Fail':
      requireRunning(state, 'fail');
      return [{ type: 'JobFailed', data: { jobId: state.jobId, error: command.error } }];
  }
}

/** Whether the owner should checkpoint after reaching `state`. */
export function checkpointDue(state: JobState): boolean {
  return state.status === 'running' && state.sinceCheckpoint >= checkpointEvery;
}
