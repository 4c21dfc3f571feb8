import { DomainError } from '../errors.js';
import type { BackendLimits } from '../events/backend-events.js';
import type { DomainEvent, EventData } from '../events/catalog.js';

export type BackendLifecycle = 'unregistered' | 'active' | 'draining' | 'drained' | 'removed' | 'purged';

export interface BackendState {
  name: string;
  revision: bigint | 'no_stream';
  lifecycle: BackendLifecycle;
  limits: BackendLimits | undefined;
  drainJobId: string | undefined;
}

export const backendStreamId = (name: string): string => `backend-${name}`;

export function initialBackendState(name: string): BackendState {
  return { name, revision: 'no_stream', lifecycle: 'unregistered', limits: undefined, drainJobId: undefined };
}

export function evolveBackend(state: BackendState, event: DomainEvent): BackendState {
  const revision = state.revision === 'no_stream' ? 0n : state.revision + 1n;
  switch (event.type) {
    case 'BackendRegistered':
      return { ...state, revision, lifecycle: 'active', limits: event.data.limits, drainJobId: undefined };
    case 'BackendLimitsChanged':
      return { ...state, revision, limits: event.data.limits };
    case 'BackendDrainStarted':
      return { ...state, revision, lifecycle: 'draining', drainJobId: event.data.jobId };
    case 'BackendDrained':
      return { ...state, revision, lifecycle: 'drained' };
    case 'BackendDrainCancelled':
    case 'BackendReactivated':
      return { ...state, revision, lifecycle: 'active', drainJobId: undefined };
    case 'BackendRemoved':
      return { ...state, revision, lifecycle: 'removed', drainJobId: undefined };
    case 'BackendPurged':
      return { ...state, revision, lifecycle: 'purged' };
    default:
      return { ...state, revision };
  }
}

export interface BackendDeclaration {
  name: string;
  endpoint: string;
  bucket: string;
  region: string;
  limits: BackendLimits;
}

const sameLimits = (a: BackendLimits, b: BackendLimits): boolean =>
  a.quotaBytes === b.quotaBytes && a.apiRequestLimit === b.apiRequestLimit &&
  a.egressByteLimit === b.egressByteLimit && a.ingressByteLimit === b.ingressByteLimit;

type Decided = { type: 'BackendRegistered'; data: EventData<'BackendRegistered'> } | { type: 'BackendLimitsChanged'; data: EventData<'BackendLimitsChanged'> };

/**
 * Reconciles a backend declared in the configuration with its stream: a new backend is
 * registered; changed limits are recorded. A drained or removed backend is NOT re-registered,
 * whatever the config says: it stays out of the write path until explicitly reactivated.
 */
export function decideDeclaration(state: BackendState, decl: BackendDeclaration): Decided[] {
  if (state.lifecycle === 'unregistered') {
    return [{ type: 'BackendRegistered', data: { backend: decl.name, endpoint: decl.endpoint, bucket: decl.bucket, region: decl.region, limits: decl.limits } }];
  }
  if (state.limits && !sameLimits(state.limits, decl.limits)) {
    return [{ type: 'BackendLimitsChanged', data: { backend: decl.name, limits: decl.limits, previous: state.limits } }];
  }
  return [];
}

export function decideReactivate(state: BackendState): { type: 'BackendReactivated'; data: EventData<'BackendReactivated'> } {
  if (state.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${state.name} was never registered`);
  if (state.lifecycle === 'active') throw new DomainError('Conflict', `backend ${state.name} is already active`);
  if (state.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${state.name} is draining; cancel the drain instead`);
  return { type: 'BackendReactivated', data: { backend: state.name, previousState: state.lifecycle } };
}
