import type { BackendLimits } from '../events/backend-events.js';
import type { DomainEvent } from '../events/catalog.js';
import { revisionAfter, type StreamRevision } from '../decider.js';

export type BackendLifecycle = 'unregistered' | 'active' | 'draining' | 'drained' | 'removed' | 'purged';

/** A backend as its stream `backend-<name>` defines it. */
export interface BackendState {
  name: string;
  revision: StreamRevision;
  lifecycle: BackendLifecycle;
  limits: BackendLimits | undefined;
  drainJobId: string | undefined;
}

export const backendStreamId = (name: string): string => `backend-${name}`;

export function initialBackendState(name: string): BackendState {
  return { name, revision: 'no_stream', lifecycle: 'unregistered', limits: undefined, drainJobId: undefined };
}

export function evolveBackend(state: BackendState, event: DomainEvent): BackendState {
  const revision = revisionAfter(state.revision);
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
