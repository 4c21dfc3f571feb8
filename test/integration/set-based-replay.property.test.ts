import fc from 'fast-check';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDomainError } from '../../domain/errors.js';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { decideObject } from '../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { findProjections } from '../../projections/registry.js';
import { verifyProjections } from '../../projections/rebuild.js';
import { backends, commandFor, step, type Step } from '../support/object-histories.js';
import { newEvent, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/** What happens next in the log: a step of one of a few objects, a cleanup outcome, or an orphan. */
type Action =
  | { kind: 'object'; object: number; step: Step }
  | { kind: 'cleanup'; nth: number; outcome: 'succeeded' | 'failed' | 'retried' | 'exhausted' | 'dismissed' }
  | { kind: 'orphan'; backend: string; size: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('object' as const), object: fc.nat(3), step }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('cleanup' as const),
      nth: fc.nat(20),
      outcome: fc.constantFrom('succeeded' as const, 'failed' as const, 'retried' as const, 'exhausted' as const, 'dismissed' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('orphan' as const), backend: fc.constantFrom(...backends), size: fc.nat(10_000) }) },
);

interface Pending { id: string; backend: string; size: number }

/** The cleanup items an object event leaves behind (copies no live record points to any more). */
function leftBehind(e: DomainEvent): Pending[] {
  const items = e.type === 'ObjectWritten' ? e.data.displaced
    : e.type === 'ObjectDeleted' ? (e.data.reclaim ? e.data.displaced : [])
    : e.type === 'ReplicaDropped' ? (e.data.reclaim && e.data.copy.cleanupId ? [e.data.copy] : [])
    : e.type === 'CopyMoved' || e.type === 'CopyRepaired' ? [e.data.from]
    : [];
  return items.flatMap((c) => (c.cleanupId ? [{ id: c.cleanupId, backend: c.backend, size: c.size }] : []));
}

describe('set-based replay', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let run = 0;

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    for (const b of backends) await registerBackend(store, b, Number.MAX_SAFE_INTEGER);
  });
  afterAll(async () => db.close());

  it('rebuilds, from random logs and at any page size, the tables the append path wrote event by event', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 25 }), async (actions, pageSize) => {
        const bucket = `run${++run}`;
        const objects: ObjectState[] = [0, 1, 2, 3].map((i) => initialObjectState(bucket, `k${i}`));
        const pending: Pending[] = [];
        const at = () => new Date(Date.UTC(2026, 10, 1) + run * 1000).toISOString();
        for (const a of actions) {
          if (a.kind === 'object') {
            const state = objects[a.object] as ObjectState;
            const command = commandFor(a.step, state);
            if (!command) continue;
            let events;
            try {
              events = decideObject(command, state);
            } catch (err) {
              if (isDomainError(err) && err.code === 'Conflict') continue;
              throw err;
            }
            if (events.length === 0) continue;
            await store.appendToStream(objectStreamId(bucket, state.key), events.map((e) => newEvent(e.type, e.data)), { expected: state.revision });
            objects[a.object] = events.reduce(evolveObject, state);
            pending.push(...events.flatMap(leftBehind));
          } else if (a.kind === 'orphan') {
            const id = ulid();
            await store.appendToStream(`cleanup-${id}`, [newEvent('OrphanRecorded', {
              backend: a.backend, storageKey: `${bucket}/orphan-${id}`, size: a.size, reason: 'upload_aborted', kind: 'object',
            })], { expected: 'no_stream' });
            pending.push({ id, backend: a.backend, size: a.size });
          } else if (pending.length > 0) {
            const i = a.nth % pending.length;
            const item = pending[i] as Pending;
            const event = {
              succeeded: () => newEvent('CleanupSucceeded', { attempt: 1, backend: item.backend, size: item.size }),
              failed: () => newEvent('CleanupFailed', { attempt: 1, nextRetryAt: at(), error: 'boom' }),
              retried: () => newEvent('CleanupRetried', { nextRetryAt: at() }),
              exhausted: () => newEvent('CleanupExhausted', { attempt: 5, error: 'gave up' }),
              dismissed: () => newEvent('CleanupDismissed', { reason: 'operator', backend: item.backend, size: item.size }),
            }[a.outcome]();
            await store.appendToStream(`cleanup-${item.id}`, [event], { expected: 'any' });
            if (a.outcome === 'succeeded' || a.outcome === 'dismissed') pending.splice(i, 1);
          }
        }
        const reports = await verifyProjections(db.pool, findProjections(undefined).filter((p) => p.kind === 'inline'), undefined, { pageSize });
        expect(reports.flatMap((r) => r.diffs).filter((d) => d.onlyInLive + d.onlyInRebuilt > 0)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});
