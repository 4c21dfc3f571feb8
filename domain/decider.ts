import type { DomainEvent } from './events/catalog.js';

/** A stream's revision: the compare-and-swap token of its next change. */
export type StreamRevision = bigint | 'no_stream';

/** The revision a stream at `revision` has after one more event. */
export function revisionAfter(revision: StreamRevision): bigint {
  return revision === 'no_stream' ? 0n : revision + 1n;
}

/**
 * Folds one recorded event (`at`: when it was decided) into an aggregate's state. Every
 * aggregate's state carries the revision of the last event folded into it. Deciders are the
 * other half: `decide<Aggregate>(command, state)` returns the events a command produces, or
 * throws a DomainError to refuse it; both are pure.
 */
export type Evolve<S extends { revision: StreamRevision }> = (state: S, event: DomainEvent, at: string) => S;

/** Folds events decided on `state` (and appended as its next revisions) into it. */
export function evolveAll<S extends { revision: StreamRevision }>(evolve: Evolve<S>, state: S, events: readonly DomainEvent[], at: string): S {
  return events.reduce((s, e) => evolve(s, e, at), state);
}
