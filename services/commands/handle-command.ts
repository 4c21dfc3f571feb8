import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamRevision } from '../../domain/decider.js';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { AppendResult, EventStore, ExpectedRevision, StreamAppend } from '../../domain/eventstore/port.js';

/** Where a decision is appended: the event store, or a job's owner adding the job's own step to the same transaction. */
export type Appender = Pick<EventStore, 'appendToStreams'>;
import type { Cause, EventFactory } from '../event-factory.js';

/** Events another stream's decider decided, appended in the same transaction. */
export interface OtherStreamAppend {
  streamId: string;
  events: readonly DomainEvent[];
  expected: ExpectedRevision;
}

/** What a command decided on one state: its stream's events, other streams' events, and an answer for the caller. */
export interface Decision<V> {
  events: readonly DomainEvent[];
  /** Appended before this stream's events, all or nothing. */
  others?: readonly OtherStreamAppend[];
  value: V;
}

export interface Command<S extends { revision: StreamRevision }, V> {
  streamId: string;
  /** The aggregate's current state with the revision it was folded (or snapshotted) at. */
  load(): Promise<S>;
  /** Pure: decides on `state`, or throws a DomainError to refuse. Called again after a conflict. */
  decide(state: S): Decision<V>;
  cause: Cause;
  /** A state already loaded (e.g. while a body was uploading); the first attempt decides on it. */
  initial?: S | Promise<S>;
  /** Attempts before a conflict is given up (default 20). */
  maxAttempts?: number;
  /**
   * The revision the append expects; the state's by default. `'any'` only for a change that
   * commutes with every concurrent one and whose invariant the append itself checks (a part of
   * a multipart upload: parts of other numbers may arrive meanwhile; the upload must be open).
   */
  expected?: 'any';
}

export interface Handled<S, V> {
  /** The state the successful decision was made on. */
  state: S;
  events: readonly DomainEvent[];
  value: V;
  /** This stream's append; undefined when the decision was to append nothing. */
  appended: AppendResult | undefined;
}

const defaultAttempts = 20;

/**
 * The one way a command changes an aggregate: load its state, decide, append the decided
 * events expecting the revision the decision was made on, and on a concurrent change (a
 * ConcurrencyError on this stream) load and decide again, a bounded number of times with a
 * short random pause so racing writers spread out. A decision with no events appends nothing.
 */
export async function handleCommand<S extends { revision: StreamRevision }, V>(
  store: Appender,
  factory: EventFactory,
  command: Command<S, V>,
): Promise<Handled<S, V>> {
  const maxAttempts = command.maxAttempts ?? defaultAttempts;
  let state = await (command.initial ?? command.load());
  for (let attempt = 1; ; attempt++) {
    const decision = command.decide(state);
    const others = decision.others?.filter((o) => o.events.length > 0) ?? [];
    if (decision.events.length === 0 && others.length === 0) return { state, events: [], value: decision.value, appended: undefined };
    const appends: StreamAppend[] = others.map((o) => ({ streamId: o.streamId, events: o.events.map((e) => factory.record(e, command.cause)), expected: o.expected }));
    if (decision.events.length > 0) {
      appends.push({ streamId: command.streamId, events: decision.events.map((e) => factory.record(e, command.cause)), expected: command.expected ?? state.revision });
    }
    try {
      const results = await store.appendToStreams(appends);
      const appended = decision.events.length > 0 ? results.find((r) => r.streamId === command.streamId) : undefined;
      return { state, events: decision.events, value: decision.value, appended };
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || err.streamId !== command.streamId || attempt >= maxAttempts) throw err;
      await sleep(Math.floor(Math.random() * Math.min(20, attempt)));
      state = await command.load();
    }
  }
}
