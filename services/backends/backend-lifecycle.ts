import { decideDeclaration, type BackendDeclaration } from '../../domain/backends/backend-decider.js';
import { backendStreamId, evolveBackend, initialBackendState, type BackendState } from '../../domain/backends/backend-state.js';
import { evolveAll } from '../../domain/decider.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { foldStream } from '../commands/fold-stream.js';
import { handleCommand } from '../commands/handle-command.js';
import type { Cause, EventFactory } from '../event-factory.js';

/** A backend's state folded from its stream (a handful of events: lifecycle changes only). */
export function loadBackend(store: EventStore, name: string): Promise<BackendState> {
  return foldStream(store, backendStreamId(name), initialBackendState(name), evolveBackend);
}

export interface ReconcileReport {
  registered: string[];
  limitsChanged: string[];
  /** Configured, but drained or removed: kept out of the write path until reactivated. */
  excluded: { name: string; state: string }[];
  states: Map<string, BackendState>;
}

/** Brings the log in line with the configured backends at startup (and on reload for limits). */
export async function reconcileBackends(
  store: EventStore,
  events: EventFactory,
  declarations: readonly BackendDeclaration[],
  cause: Cause,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { registered: [], limitsChanged: [], excluded: [], states: new Map() };
  for (const decl of declarations) {
    const handled = await handleCommand(store, events, {
      streamId: backendStreamId(decl.name),
      load: () => loadBackend(store, decl.name),
      decide: (state) => ({ events: decideDeclaration(state, decl), value: undefined }),
      cause,
    });
    for (const d of handled.events) {
      if (d.type === 'BackendRegistered') report.registered.push(decl.name);
      else report.limitsChanged.push(decl.name);
    }
    const state = evolveAll(evolveBackend, handled.state, handled.events, events.now().toISOString());
    if (state.lifecycle !== 'active' && state.lifecycle !== 'draining') report.excluded.push({ name: decl.name, state: state.lifecycle });
    report.states.set(decl.name, state);
  }
  return report;
}
