import { DomainError } from '../errors.js';
import type { BackendLimits } from '../events/backend-events.js';
import type { DomainEvent } from '../events/catalog.js';
import type { BackendState } from './backend-state.js';

export interface BackendDeclaration {
  name: string;
  endpoint: string;
  bucket: string;
  region: string;
  limits: BackendLimits;
}

/** What can be asked of a backend: by the configuration, an operator, or a job finishing. */
export type BackendCommand =
  | { type: 'Declare'; declaration: BackendDeclaration }
  | { type: 'StartDrain'; jobId: string }
  | { type: 'CancelDrain' }
  | { type: 'FinishDrain'; jobId: string }
  | { type: 'Reactivate' }
  /** `confirmed`: a purge's confirmation token was valid (a plain removal needs none). */
  | { type: 'Remove'; jobId: string; purge: boolean; confirmed: boolean }
  | { type: 'FinishPurge'; jobId: string };

type Event<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;
export type BackendEvent = Event<'BackendRegistered' | 'BackendLimitsChanged' | 'BackendDrainStarted' | 'BackendDrainCancelled' |
  'BackendDrained' | 'BackendReactivated' | 'BackendRemoved' | 'BackendPurged'>;

const sameLimits = (a: BackendLimits, b: BackendLimits): boolean =>
  a.quotaBytes === b.quotaBytes && a.apiRequestLimit === b.apiRequestLimit &&
  a.egressByteLimit === b.egressByteLimit && a.ingressByteLimit === b.ingressByteLimit;

/** Refuses a command on a backend the log has never seen. */
export function requireKnown(state: BackendState): void {
  if (state.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${state.name} is not known`);
}

/**
 * Reconciles a backend declared in the configuration with its stream: a new backend is
 * registered; changed limits are recorded. A drained or removed backend is NOT re-registered,
 * whatever the config says: it stays out of the write path until explicitly reactivated.
 */
export function decideDeclaration(state: BackendState, decl: BackendDeclaration): Event<'BackendRegistered' | 'BackendLimitsChanged'>[] {
  if (state.lifecycle === 'unregistered') {
    return [{ type: 'BackendRegistered', data: { backend: decl.name, endpoint: decl.endpoint, bucket: decl.bucket, region: decl.region, limits: decl.limits } }];
  }
  if (state.limits && !sameLimits(state.limits, decl.limits)) {
    return [{ type: 'BackendLimitsChanged', data: { backend: decl.name, limits: decl.limits, previous: state.limits } }];
  }
  return [];
}

/** Only an active backend starts draining, under the job that will move its copies. */
function decideStartDrain(state: BackendState, jobId: string): BackendEvent[] {
  requireKnown(state);
  if (state.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${state.name} is already draining (job ${state.drainJobId})`);
  if (state.lifecycle !== 'active') throw new DomainError('Conflict', `backend ${state.name} is ${state.lifecycle}; reactivate it first`);
  return [{ type: 'BackendDrainStarted', data: { backend: state.name, jobId } }];
}

function decideCancelDrain(state: BackendState): BackendEvent[] {
  if (state.lifecycle !== 'draining' || !state.drainJobId) throw new DomainError('Conflict', `backend ${state.name} is not draining`);
  return [{ type: 'BackendDrainCancelled', data: { backend: state.name, jobId: state.drainJobId } }];
}

/** A drain that finished is recorded only while the backend is still draining under that job (not cancelled meanwhile). */
function decideFinishDrain(state: BackendState, jobId: string): BackendEvent[] {
  if (state.lifecycle !== 'draining' || state.drainJobId !== jobId) return [];
  return [{ type: 'BackendDrained', data: { backend: state.name, jobId } }];
}

function decideReactivate(state: BackendState): BackendEvent[] {
  if (state.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${state.name} was never registered`);
  if (state.lifecycle === 'active') throw new DomainError('Conflict', `backend ${state.name} is already active`);
  if (state.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${state.name} is draining; cancel the drain instead`);
  return [{ type: 'BackendReactivated', data: { backend: state.name, previousState: state.lifecycle } }];
}

/**
 * A backend leaves the write path at once when removed; a draining one must have its drain
 * cancelled first, and a purge (its bytes deleted too) must have been confirmed.
 */
function decideRemove(state: BackendState, command: Extract<BackendCommand, { type: 'Remove' }>): BackendEvent[] {
  requireKnown(state);
  if (state.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${state.name} is draining; cancel the drain first (drain-cancel)`);
  if (state.lifecycle === 'removed' || state.lifecycle === 'purged') throw new DomainError('Conflict', `backend ${state.name} is already ${state.lifecycle}`);
  if (command.purge && !command.confirmed) throw new DomainError('AccessDenied', 'invalid or expired confirmation token');
  return [{ type: 'BackendRemoved', data: { backend: state.name, jobId: command.jobId } }];
}

/** A purge that finished is recorded only while the backend is still removed (not reactivated meanwhile). */
function decideFinishPurge(state: BackendState, jobId: string): BackendEvent[] {
  if (state.lifecycle !== 'removed') return [];
  return [{ type: 'BackendPurged', data: { backend: state.name, jobId } }];
}

export function decideBackend(command: BackendCommand, state: BackendState): BackendEvent[] {
  switch (command.type) {
    case 'Declare':
      return decideDeclaration(state, command.declaration);
    case 'StartDrain':
      return decideStartDrain(state, command.jobId);
    case 'CancelDrain':
      return decideCancelDrain(state);
    case 'FinishDrain':
      return decideFinishDrain(state, command.jobId);
    case 'Reactivate':
      return decideReactivate(state);
    case 'Remove':
      return decideRemove(state, command);
    case 'FinishPurge':
      return decideFinishPurge(state, command.jobId);
  }
}
