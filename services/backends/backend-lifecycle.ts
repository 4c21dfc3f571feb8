import { backendStreamId, decideDeclaration, evolveBackend, initialBackendState, type BackendDeclaration, type BackendState } from '../../domain/backends/backend-decider.js';
import { decodeEvent } from '../../domain/events/codec.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Cause, EventFactory } from '../event-factory.js';

export async function loadBackend(store: EventStore, name: string): Promise<BackendState> {
  const read = await store.readStream(backendStreamId(name));
  let state = initialBackendState(name);
  for (const e of read.events) {
    const ev = decodeEvent(e.type, e.schemaVersion, e.data);
    state = ev ? evolveBackend(state, ev) : { ...state, revision: e.revision };
  }
  return state;
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
    let state = await loadBackend(store, decl.name);
    const decided = decideDeclaration(state, decl);
    if (decided.length > 0) {
      await store.appendToStream(
        backendStreamId(decl.name),
        decided.map((d) => events.event(d.type, d.data, cause)),
        { expected: state.revision },
      );
      for (const d of decided) {
        if (d.type === 'BackendRegistered') report.registered.push(decl.name);
        else report.limitsChanged.push(decl.name);
      }
      state = await loadBackend(store, decl.name);
    }
    if (state.lifecycle !== 'active' && state.lifecycle !== 'draining') report.excluded.push({ name: decl.name, state: state.lifecycle });
    report.states.set(decl.name, state);
  }
  return report;
}
