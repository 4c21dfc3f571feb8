/**
 * Rebuild and verify on a synthetic log (bench/projections/synthetic-log.ts) of N events
 * (default 1,000,000) in a fresh database: prepares the log, catches the async projections up,
 * then times `verify` and `rebuild` of every projection and prints events/s with the machine's
 * load average (figures from a busy machine are not comparable with a quiet one's). When the
 * server runs on this machine, each phase also prints the CPU seconds PostgreSQL spent on it (the
 * whole server's: only a private server gives this run's alone) and events per CPU-second, a
 * figure that load changes far less than wall time.
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
import { postmasterOf, processTreeCpuSeconds } from '../procfs.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { rebuildProjections, verifyProjections, type ProgressFn, type RebuildReport } from '../../projections/rebuild.js';
import { allProjections, asyncProjections, inlineProjections, type ProjectionInfo } from '../../projections/registry.js';
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

/** The postmaster's pid when the server runs on this machine, else undefined. */
async function localPostmaster(pool: pg.Pool): Promise<number | undefined> {
  return postmasterOf(Number((await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid));
}
let postmaster: number | undefined;
const serverCpu = async () => (postmaster === undefined ? 0 : processTreeCpuSeconds(postmaster));

interface Timed<T> { value: T; seconds: number; cpu: number }

async function timed<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const [started, cpuBefore] = [performance.now(), await serverCpu()];
  const value = await work();
  return { value, seconds: (performance.now() - started) / 1000, cpu: (await serverCpu()) - cpuBefore };
}

/** PostgreSQL's CPU for `events`, when it could be read. */
const cpuOf = (events: number, cpu: number) =>
  postmaster === undefined ? '' : `  PostgreSQL ${cpu.toFixed(1)} CPU-s = ${formatCount(events / Math.max(cpu, 0.01))} events/CPU-s`;

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

const print = (verb: string, r: RebuildReport, cpu: number, extra = '') =>
  console.log(`${verb.padEnd(8)}${r.projection.padEnd(46)}${extra}${rate(r.events, r.seconds)}${cpuOf(r.events, cpu)}  (${load()})`);

/** Runs verify or rebuild one projection (the inline ones together) at a time, each with its server CPU. */
async function eachTimed<R extends RebuildReport>(
  run: (infos: readonly ProjectionInfo[], onProgress: ProgressFn) => Promise<R[]>,
  verb: string,
  extra: (r: R) => string = () => '',
): Promise<R[]> {
  const out: R[] = [];
  for (const group of [inlineProjections, ...asyncProjections.map((p) => [p])]) {
    const { value, cpu } = await timed(() => withProgress((onProgress) => run(group, onProgress)));
    for (const r of value) print(verb, r, cpu, extra(r));
    out.push(...value);
  }
  return out;
}

async function prepare(pool: pg.Pool): Promise<void> {
  if (values['through-append']) {
    const store = new PostgresEventStore(pool);
    const bar = new ProgressBar('appending');
    const { value: appended, seconds, cpu } = await timed(async () => {
      let n = 0;
      for (const batch of syntheticLog(target)) {
        await store.appendToStreams(batch);
        n += batch.reduce((sum, a) => sum + a.events.length, 0);
        bar.update(n, target);
      }
      return n;
    });
    bar.finish();
    console.log(`append  through s3o_append, inline projections in each append  ${rate(appended, seconds)}${cpuOf(appended, cpu)}  (${load()})`);
    return;
  }
  const { value: imported, seconds, cpu } = await timed(async () => {
    const n = await importLog(pool, syntheticLog(target));
    // As autovacuum would have left a log this old: hint bits set and pages marked all-visible,
    // so the first replay does not rewrite every page of the log it reads (and reads positions from
    // the indexes alone).
    await pool.query('VACUUM (ANALYZE) events, streams');
    return n;
  });
  console.log(`import  events and streams by bulk insert, then VACUUM ANALYZE  ${rate(imported, seconds)}${cpuOf(imported, cpu)}  (${load()})`);
  const built = await timed(() => withProgress((onProgress) => rebuildProjections(pool, inlineProjections, onProgress)));
  if (built.value[0]) print('build', built.value[0], built.cpu, '(rebuild from the log) ');
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
    postmaster = await localPostmaster(pool);
    console.log(postmaster === undefined ? 'PostgreSQL is not on this machine: no server CPU figures' : `PostgreSQL CPU read from postmaster ${postmaster} and its backends (the whole server's)`);
    await migrateSchema(pool);
    await prepare(pool);

    const runner = new ProjectionRunner(pool, asyncProjections, { owner: 'bench', logger: createLogger('silent'), batchSize: 50_000 });
    const types = [...new Set(asyncProjections.flatMap((p) => p.eventTypes))];
    const asyncEvents = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE type = ANY($1::text[])', [types])).rows[0]?.n);
    const caughtUp = await timed(async () => {
      await runner.catchUp(600_000);
      await runner.stop();
    });
    console.log(`catch-up async projections (${asyncProjections.map((p) => p.name).join(', ')})`.padEnd(54) + `${rate(asyncEvents, caughtUp.seconds)}${cpuOf(asyncEvents, caughtUp.cpu)}  (${load()})`);

    const verified = await eachTimed((infos, onProgress) => verifyProjections(pool, infos, onProgress), 'verify', (r) => (r.identical ? 'identical  ' : 'DIFFERS  '));
    await eachTimed((infos, onProgress) => rebuildProjections(pool, infos, onProgress), 'rebuild');
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
