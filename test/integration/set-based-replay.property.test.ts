import fc from 'fast-check';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { DomainEvent } from '../../domain/events/catalog.js';
import { decodeEvent } from '../../domain/events/codec.js';
import type { NewEvent } from '../../domain/eventstore/port.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { asyncProjections, findProjections } from '../../projections/registry.js';
import { verifyProjections } from '../../projections/rebuild.js';
import { backends, step, type Step } from '../support/object-histories.js';
import { historyDatabase } from '../support/history-database.js';
import { eventsForStep, newEvent } from '../support/object-events.js';
import { untilReadable } from '../support/store.js';

const logger = createLogger('silent');

/**
 * What happens next in the log: a step of one of a few objects (its ObjectWritten stored at
 * version 1 when `v1`, as builds before SHA-256s were recorded stored it), a cleanup outcome, an
 * orphan, or a usage flush.
 */
type Action =
  | { kind: 'object'; object: number; step: Step; v1: boolean }
  | { kind: 'usage'; backend: string; period: string; apiRequests: number; egressBytes: number; ingressBytes: number }
  | { kind: 'cleanup'; nth: number; outcome: 'succeeded' | 'failed' | 'retried' | 'exhausted' | 'dismissed' }
  | { kind: 'orphan'; backend: string; size: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('object' as const), object: fc.nat(3), step, v1: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('usage' as const), backend: fc.constantFrom(...backends), period: fc.constantFrom('2026-10', '2026-11', '2026-12'),
      apiRequests: fc.nat(1_000), egressBytes: fc.nat(1_000_000_000), ingressBytes: fc.nat(1_000_000_000),
    }),
  },
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

/** An ObjectWritten as a build before SHA-256s and encryption were recorded stored it (version 1); other events as they are. */
function storedAtV1(e: DomainEvent): NewEvent {
  const event = newEvent(e.type, e.data);
  if (e.type !== 'ObjectWritten') return event;
  const { contentSha256: _sha, encryption: _enc, ...v1 } = event.data as Record<string, unknown>;
  return { ...event, schemaVersion: 1, data: v1 };
}

/**
 * The async projections' rows computed event by event in TypeScript, each stored event decoded
 * (upcast) by the TypeScript codec: what their set-based SQL must produce.
 */
async function asyncRowsEventByEvent(pool: pg.Pool): Promise<{ bucket_stats: string[]; usage_monthly: string[] }> {
  const log = (await pool.query<{ type: string; schema_version: number; data: unknown }>(
    "SELECT type, schema_version, data FROM events WHERE type IN ('ObjectWritten', 'ObjectDeleted', 'UsageFlushed') ORDER BY tx_id, seq",
  )).rows;
  const buckets = new Map<string, { count: number; bytes: number }>();
  const usage = new Map<string, { api: number; egress: number; ingress: number }>();
  for (const stored of log) {
    const e = decodeEvent(stored.type, stored.schema_version, stored.data);
    if (e?.type === 'ObjectWritten' || e?.type === 'ObjectDeleted') {
      const b = buckets.get(e.data.bucket) ?? { count: 0, bytes: 0 };
      if (e.type === 'ObjectWritten') {
        b.count += e.data.previousSize === null ? 1 : 0;
        b.bytes += e.data.size - (e.data.previousSize ?? 0);
      } else {
        b.count -= 1;
        b.bytes -= e.data.size;
      }
      buckets.set(e.data.bucket, b);
    } else if (e?.type === 'UsageFlushed') {
      const k = `${e.data.backend}|${e.data.period}`;
      const u = usage.get(k) ?? { api: 0, egress: 0, ingress: 0 };
      u.api += e.data.apiRequests;
      u.egress += e.data.egressBytes;
      u.ingress += e.data.ingressBytes;
      usage.set(k, u);
    }
  }
  return {
    bucket_stats: [...buckets].map(([bucket, b]) => `${bucket}|${b.count}|${b.bytes}`).sort(),
    usage_monthly: [...usage].map(([k, u]) => `${k}|${u.api}|${u.egress}|${u.ingress}`).sort(),
  };
}

async function asyncRows(pool: pg.Pool): Promise<{ bucket_stats: string[]; usage_monthly: string[] }> {
  const q = async (sql: string) => (await pool.query<{ r: string }>(sql)).rows.map((x) => x.r).sort();
  return {
    bucket_stats: await q("SELECT concat_ws('|', bucket, object_count, total_bytes) AS r FROM bucket_stats"),
    usage_monthly: await q("SELECT concat_ws('|', backend, period, api_requests, egress_bytes, ingress_bytes) AS r FROM usage_monthly"),
  };
}

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
  const history = historyDatabase();
  let run = 0;

  it('rebuilds, from random logs and at any page size, the tables the append path wrote event by event, and applies the async ones as TypeScript would event by event', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 25 }), async (actions, pageSize) => {
        const bucket = `run${++run}`;
        const objects: ObjectState[] = [0, 1, 2, 3].map((i) => initialObjectState(bucket, `k${i}`));
        const pending: Pending[] = [];
        const at = () => new Date(Date.UTC(2026, 10, 1) + run * 1000).toISOString();
        for (const a of actions) {
          if (a.kind === 'object') {
            const state = objects[a.object] as ObjectState;
            const events = eventsForStep(a.step, state);
            if (events.length === 0) continue;
            await history.store.appendToStream(objectStreamId(bucket, state.key), events.map((e) => (a.v1 ? storedAtV1(e) : newEvent(e.type, e.data))), { expected: state.revision });
            objects[a.object] = events.reduce(evolveObject, state);
            pending.push(...events.flatMap(leftBehind));
          } else if (a.kind === 'usage') {
            const { kind: _kind, ...flush } = a;
            await history.store.appendToStream(`usage-${a.backend}`, [newEvent('UsageFlushed', flush)], { expected: 'any' });
          } else if (a.kind === 'orphan') {
            const id = ulid();
            await history.store.appendToStream(`cleanup-${id}`, [newEvent('OrphanRecorded', {
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
            await history.store.appendToStream(`cleanup-${item.id}`, [event], { expected: 'any' });
            if (a.outcome === 'succeeded' || a.outcome === 'dismissed') pending.splice(i, 1);
          }
        }
        const reports = await verifyProjections(history.db.pool, findProjections(undefined).filter((p) => p.kind === 'inline'), undefined, { pageSize });
        expect(reports.flatMap((r) => r.diffs).filter((d) => d.onlyInLive + d.onlyInRebuilt > 0)).toEqual([]);
        // The async projections, applied set-based by the runner in pages of `pageSize` of their
        // events, hold what the event-by-event TypeScript computation gives; a verify (one
        // set-based replay) agrees with them.
        await untilReadable(history.db.pool);
        const runner = new ProjectionRunner(history.db.pool, asyncProjections, { owner: 'property', logger, batchSize: pageSize });
        await runner.catchUp();
        await runner.stop();
        expect(await asyncRows(history.db.pool)).toEqual(await asyncRowsEventByEvent(history.db.pool));
        const verified = await verifyProjections(history.db.pool, asyncProjections);
        expect(verified.flatMap((r) => r.diffs).filter((d) => d.onlyInLive + d.onlyInRebuilt > 0)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});
