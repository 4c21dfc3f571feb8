import type { Evolve, StreamRevision } from '../../domain/decider.js';
import { decodeEvent } from '../../domain/events/codec.js';
import type { EventStore, RecordedEvent } from '../../domain/eventstore/port.js';

/** Events read per round trip: a long stream is folded page by page, never held whole. */
export const foldPageSize = 1000;

/**
 * Folds recorded events (oldest first) into `state`. Event types this build does not know only
 * advance the revision; the result carries the revision of the last event folded.
 */
export function foldRecorded<S extends { revision: StreamRevision }>(state: S, events: readonly RecordedEvent[], evolve: Evolve<S>): S {
  for (const recorded of events) {
    const event = decodeEvent(recorded.type, recorded.schemaVersion, recorded.data);
    state = event ? evolve(state, event, recorded.metadata.at ?? recorded.recordedAt) : state;
    if (state.revision !== recorded.revision) state = { ...state, revision: recorded.revision };
  }
  return state;
}

/**
 * Folds a stream's events from `fromRevision` into `state` (the state just before that
 * revision), page by page, whatever the stream's length.
 */
export async function foldStream<S extends { revision: StreamRevision }>(
  store: EventStore,
  streamId: string,
  state: S,
  evolve: Evolve<S>,
  opts: { fromRevision?: bigint } = {},
): Promise<S> {
  let from = opts.fromRevision ?? 0n;
  for (;;) {
    const read = await store.readStream(streamId, { fromRevision: from, maxCount: foldPageSize });
    state = foldRecorded(state, read.events, evolve);
    const last = read.events[read.events.length - 1];
    if (!last || read.events.length < foldPageSize) return state;
    from = last.revision + 1n;
  }
}
