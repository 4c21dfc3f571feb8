import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { asyncProjections, inlineProjections } from '../../projections/registry.js';
import { historyOp, type HistoryOp, HistoryWriter, projectionTables, resetLog, rewriteOp } from '../support/projection-history.js';
import { createMigratedDatabase, type MigratedDatabase, untilReadable } from '../support/store.js';

const logger = createLogger('silent');

/**
 * The set-based replay (runs of a page applied by one statement per table, the rest one by one)
 * against the append path, which applies every event through the handlers as it is appended:
 * random histories of every kind of event the projections read (writes, overwrites, deletes,
 * replicas, moves with their job events, corruptions and repairs, multipart uploads, cleanup
 * outcomes, backend changes, usage flushes, encryption rewrites), replayed at random page sizes,
 * so runs are cut anywhere.
 */
describe('set-based replay of varied histories', () => {
  let db: MigratedDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase(4);
  });
  afterAll(async () => db.close());

  it('verify finds the live tables equal to a replay at any page size, and a rebuild leaves them as they were', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 4, arbitrary: historyOp }, { weight: 1, arbitrary: rewriteOp }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 30 }),
        async (ops, pageSize) => {
          await resetLog(db.pool);
          const writer = new HistoryWriter(new PostgresEventStore(db.pool));
          await writer.begin();
          await writer.run(ops);
          await untilReadable(db.pool);
          const runner = new ProjectionRunner(db.pool, asyncProjections, { owner: 'history', logger, batchSize: pageSize });
          await runner.catchUp();
          await runner.stop();
          const live = await projectionTables(db.pool);

          const verified = await verifyProjections(db.pool, [...inlineProjections, ...asyncProjections], undefined, { pageSize, asyncPageSize: pageSize });
          expect(verified.flatMap((r) => r.diffs).filter((d) => d.onlyInLive + d.onlyInRebuilt > 0)).toEqual([]);
          await rebuildProjections(db.pool, [...inlineProjections, ...asyncProjections], undefined, { pageSize, asyncPageSize: pageSize });
          expect(await projectionTables(db.pool)).toEqual(live);
        },
      ),
      {
        numRuns: 10,
        // An object's whole encryption life, each event a page of its own, then all in one page.
        examples: [1, 30].map((pageSize): [HistoryOp[], number] => [[
          { op: 'write', key: 0, size: 100, backends: [0, 1], replicateToo: false },
          ...(['encrypt', 'legacyRewrap', 'rewrap', 'decrypt', 'encrypt'] as const).map((change): HistoryOp => ({ op: 'rewrite', key: 0, change })),
          { op: 'delete', key: 0, reclaim: true },
        ], pageSize]),
      },
    );
  }, 300_000);
});
