import { expect } from 'vitest';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { errorOf } from './domain-errors.js';

/**
 * Given/when/then for a pure decider: `given` the events already on the stream (folded with
 * `evolve` from `initial`), `when` a command is decided, `then` these events — or a refusal.
 */
export function deciderSpec<C, S>(
  decide: (command: C, state: S) => readonly DomainEvent[],
  evolve: (state: S, event: DomainEvent, at: string) => S,
  initial: () => S,
) {
  return {
    given(...history: DomainEvent[]) {
      const state = history.reduce((s, e) => evolve(s, e, '2026-01-01T00:00:00.000Z'), initial());
      return {
        state,
        when(command: C) {
          return {
            then(...expected: DomainEvent[]): void {
              expect(decide(command, state)).toEqual(expected);
            },
            thenNothing(): void {
              expect(decide(command, state)).toEqual([]);
            },
            thenRefused(code: string, message?: RegExp): void {
              const err = errorOf(() => decide(command, state));
              expect(err.code).toBe(code);
              if (message) expect(err.message).toMatch(message);
            },
          };
        },
      };
    },
  };
}
