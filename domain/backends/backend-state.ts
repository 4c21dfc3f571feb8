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

/** The lifecycle an event of a backend's stream puts it in; undefined for one that leaves it as it was. */
export function lifecycleAfter(eventType: string): BackendLifecycle | undefined {
  switch (eventType) {
    case 'BackendRegistered':
    case 'BackendDrainCancelled':
    case 'BackendReactivated':
      return 'active';
    case 'BackendDrainStarted':
      return 'draining';
    case 'BackendDrained':
      return 'drained';
    case 'BackendRemoved':
      return 'removed';
    case 'BackendPurged':
      return 'purged';
    default:
      return undefined;
  }
}

export function evolveBackend(state: BackendState, event: DomainEvent): BackendState {
  const revision = revisionAfter(state.revision);
  const lifecycle = lifecycleAfter(event.type) ?? state.lifecycle;
  switch (event.type) {
    case 'BackendRegistered':
      return { ...state, revision, lifecycle, limits: event.data.limits, drainJobId: undefined };
    case 'BackendLimitsChanged':
      return { ...state, revision, limits: event.data.limits };
    case 'BackendDrainStarted':
      return { ...state, revision, lifecycle, drainJobId: event.data.jobId };
    case 'BackendDrainCancelled':
    case 'BackendReactivated':
    case 'BackendRemoved':
      return { ...state, revision, lifecycle, drainJobId: undefined };
    default:
      return { ...state, revision, lifecycle };
  }
}
