/**
 * Rebuild and verify on a synthetic log (bench/projections/synthetic-log.ts) of N events
 * (default 1,000,000) in a fresh database: prepares the log, catches the async projections up,
 * then times `verify` and `rebuild` of every projection and prints events/s with the machine's
 * load average (figures from a busy machine are not comparable with a quiet one's).
 *
 * The log is imported by bulk inserts and the inline projections' tables built by a rebuild
 * (timed, reported as such); `--through-append` appends it through the real append path instead
 * (inline projections in each append, ~3k events/s). Both give the same rows
 * (test/integration/bench-log-import.test.ts).
 *
 *   node dist/bench/projections/rebuild-1m.js [--events 1000000] [--through-append] [--keep]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPool } from '../../infra/db/pool.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { formatCount, ProgressBar } from '../../ops/index.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { rebuildProjections, verifyProjections, type ProgressFn, type RebuildReport } from '../../projections/rebuild.js';
import { allProjections, asyncProjections, inlineProjections } from '../../projections/registry.js';
import { migrateSchema } from '../../projections/schema/plan.js';
import { importLog } from './log-import.js';
import { syntheticLog } from './synthetic-log.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false }, 'through-append': { type: 'boolean', default: false } },
});
const target = Number(values.events);
const adminUrl = process.env.S3O_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `s3o_bench_rebuild_${Date.now()}`;

const load = () => `load ${loadavg()[0]?.toFixed(1)}`;
const rate = (events: number, seconds: number) => `${formatCount(events)} events in ${seconds.toFixed(1)} s = ${formatCount(events / seconds)} events/s`;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** Progress bars per projection (on a terminal), finished when `work` is done. */
async function withProgress<T>(work: (onProgress: ProgressFn) => Promise<T>): Promise<T> {
  const bars = new Map<string, ProgressBar>();
  try {
    return await work((p) => {
      let bar = bars.get(p.projection);
      if (!bar) bars.set(p.projection, (bar = new ProgressBar(p.projection)));
      bar.update(p.applied, p.total, p.phase);
    });
  } finally {
    for (const bar of bars.values()) bar.finish();
  }
}

const print = (verb: string, r: RebuildReport, extra = '') => console.log(`${verb.padEnd(8)}${r.projection.padEnd(46)}${extra}${rate(r.events, r.seconds)}  (${load()})`);

async function prepare(pool: pg.Pool): Promise<void> {
  if (values['through-append']) {
    const store = new PostgresEventStore(pool);
    const bar = new ProgressBar('appending');
    const { value: appended, seconds } = await timed(async () => {
      let n = 0;
      for (const batch of syntheticLog(target)) {
        await store.appendToStreams(batch);
        n += batch.reduce((sum, a) => sum + a.events.length, 0);
        bar.update(n, target);
      }
      return n;
    });
    bar.finish();
    console.log(`append  through s3o_append, inline projections in each append  ${rate(appended, seconds)}  (${load()})`);
    return;
  }
  const { value: imported, seconds } = await timed(() => importLog(pool, syntheticLog(target)));
  console.log(`import  events and streams by bulk insert                       ${rate(imported, seconds)}  (${load()})`);
  const [built] = await withProgress((onProgress) => rebuildProjections(pool, inlineProjections, onProgress));
  if (built) print('build', built, '(rebuild from the log) ');
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const pool = createPool({ connectionString: url.toString(), max: 4 });
  const started = performance.now();
  console.log(`rebuild bench: ${formatCount(target)} events, ${load()}`);
  try {
    await migrateSchema(pool);
    await prepare(pool);

    const runner = new ProjectionRunner(pool, asyncProjections, { owner: 'bench', logger: createLogger('silent'), batchSize: 5000 });
    const types = [...new Set(asyncProjections.flatMap((p) => p.eventTypes))];
    const asyncEvents = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE type = ANY($1::text[])', [types])).rows[0]?.n);
    const caughtUp = await timed(async () => {
      await runner.catchUp(600_000);
      await runner.stop();
    });
    console.log(`catch-up async projections (${asyncProjections.map((p) => p.name).join(', ')})`.padEnd(54) + `${rate(asyncEvents, caughtUp.seconds)}  (${load()})`);

    const verified = await withProgress((onProgress) => verifyProjections(pool, allProjections, onProgress));
    for (const r of verified) print('verify', r, r.identical ? 'identical  ' : 'DIFFERS  ');
    const rebuilt = await withProgress((onProgress) => rebuildProjections(pool, allProjections, onProgress));
    for (const r of rebuilt) print('rebuild', r);
    const after = await verifyProjections(pool, allProjections);
    console.log(`after rebuild: ${after.every((r) => r.identical) ? 'every projection identical to a fresh replay' : 'DIFFERENCES FOUND'}`);
    console.log(`whole run ${((performance.now() - started) / 1000).toFixed(0)} s (${load()})`);
    if (!verified.every((r) => r.identical) || !after.every((r) => r.identical)) process.exitCode = 1;
  } finally {
    await pool.end();
    if (!values.keep) await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
