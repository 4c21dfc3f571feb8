import type pg from 'pg';
import type { Position } from '../domain/eventstore/port.js';
import { decodePosition, encodePosition } from '../infra/eventstore/positions.js';
import type { AsyncProjection } from './async/projection.js';
import type { InlineProjection } from './inline/inline-projection.js';
import type { ProjectionInfo } from './registry.js';
import { replayAsync, replayInline } from './replay.js';
import { completeShadowTables, createShadowTables, diffTables, dropShadowSchema, swapInShadowTables, type TableDiff } from './shadow.js';

export interface RebuildProgress {
  projection: string;
  phase: 'replaying' | 'catching-up' | 'comparing' | 'swapping' | 'done';
  applied: number;
  total: number;
}

export type ProgressFn = (p: RebuildProgress) => void;

export interface ReplayOptions {
  /** Events per inline replay page (default replayBatchSize); tests use small pages to cut runs often. */
  pageSize?: number;
  /** Events of its types per async replay page (default asyncReplayPage); tests use small ones. */
  asyncPageSize?: number;
}

export interface RebuildReport {
  projection: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

export interface VerifyReport extends RebuildReport {
  diffs: TableDiff[];
  identical: boolean;
}

async function countEvents(db: pg.ClientBase, types?: readonly string[]): Promise<number> {
  const res = types
    ? await db.query<{ n: string }>('SELECT count(*) AS n FROM public.events WHERE type = ANY($1::text[])', [types])
    : await db.query<{ n: string }>('SELECT count(*) AS n FROM public.events');
  return Number(res.rows[0]?.n ?? 0);
}

/** Memory for a replay's own connection (discarded afterwards): a page of events and its sorts fit in it. */
const replaySessionMemory = { tempBuffers: '128MB', workMem: '64MB' };

/** What a rebuild or verify run works on: its shadow schema's name, the projection(s) as reported, their tables and events. */
interface ShadowTarget {
  mode: 'rebuild' | 'verify';
  /** Names the schema `s3o_<mode>_<name>`. */
  name: string;
  /** The projection, or the inline projections joined by '+', as progress and reports name it. */
  projection: string;
  tables: readonly string[];
  /** The event types it replays; all when absent. */
  eventTypes?: readonly string[];
}

/** One rebuild or verify run in its shadow schema: the connection, the tables, and its progress. */
interface ShadowRun {
  client: pg.PoolClient;
  schema: string;
  tables: readonly string[];
  /** Events the run has to replay, counted when it started. */
  total: number;
  /** Reports a phase with the events applied so far. */
  progress(phase: RebuildProgress['phase'], applied: number): void;
  /** The run's report, timed from its start. */
  report(events: number): RebuildReport;
}

/**
 * Runs `work` with empty copies of `tables` in the schema `s3o_<mode>_<name>`, on a dedicated
 * connection whose search_path puts that schema first, so the projections' handlers write there.
 * Whatever `work` leaves open is rolled back, the schema is dropped (tables swapped in are no
 * longer in it), and the connection is discarded (its search_path was changed).
 */
async function inShadowSchema<T>(
  pool: pg.Pool,
  target: ShadowTarget,
  onProgress: ProgressFn | undefined,
  work: (run: ShadowRun) => Promise<T>,
): Promise<T> {
  const schema = `s3o_${target.mode}_${target.name}`;
  const client = await pool.connect();
  try {
    const startedAt = performance.now();
    const total = await countEvents(client, target.eventTypes);
    await createShadowTables(client, schema, target.tables);
    await client.query(`SET search_path = ${schema}, public`);
    // A page's events and the runs made of them live in temporary tables and are sorted: kept in
    // memory, not spilled to disk (temp_buffers only counts before the session's first temporary table).
    await client.query(`SET temp_buffers = '${replaySessionMemory.tempBuffers}'`);
    await client.query(`SET work_mem = '${replaySessionMemory.workMem}'`);
    return await work({
      client, schema, tables: target.tables, total,
      progress: (phase, applied) => onProgress?.({ projection: target.projection, phase, applied, total: Math.max(total, applied) }),
      report: (events) => {
        const seconds = (performance.now() - startedAt) / 1000;
        return { projection: target.projection, events, seconds, eventsPerSecond: seconds > 0 ? events / seconds : events };
      },
    });
  } finally {
    // A no-op after COMMIT; after a failure inside a transaction, it makes the connection usable for the DROP.
    await client.query('ROLLBACK').catch(() => undefined);
    await dropShadowSchema(client, schema).catch(() => undefined);
    client.release(true);
  }
}

/**
 * Inside one REPEATABLE READ snapshot: `catchUp` applies what the bulk replay did not see, then
 * the shadow tables are compared with the live ones row by row. Nothing is changed.
 */
async function compareAtSnapshot(run: ShadowRun, bulkApplied: number, catchUp: () => Promise<number>): Promise<VerifyReport> {
  await run.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    const events = bulkApplied + await catchUp();
    run.progress('comparing', events);
    const diffs = await diffTables(run.client, run.schema, run.tables);
    run.progress('done', events);
    return { ...run.report(events), diffs, identical: diffs.every((d) => d.onlyInLive + d.onlyInRebuilt === 0) };
  } finally {
    await run.client.query('ROLLBACK');
  }
}

/** The bulk replay of inline projections into the shadow tables, appends going on meanwhile. */
function replayInlineIntoShadow(run: ShadowRun, names: readonly string[], pageSize: number | undefined): ReturnType<typeof replayInline> {
  return replayInline(run.client, names, undefined, {
    gapSafe: true, pageSize,
    analyze: run.tables.map((t) => `${run.schema}.${t}`),
    onBatch: (p) => run.progress('replaying', p.applied),
  });
}

const inlineTarget = (mode: 'rebuild' | 'verify', infos: readonly InlineProjection[]): ShadowTarget => ({
  mode,
  name: infos.length === 1 ? (infos[0]?.name ?? 'inline') : 'inline',
  projection: infos.map((i) => i.name).join('+'),
  tables: infos.flatMap((i) => i.tables),
});

/**
 * Rebuilds inline projections: replays the whole log into shadow tables while appends go on,
 * then briefly fences appends (EXCLUSIVE lock on streams; reads continue), applies the last
 * events and swaps the shadow tables in.
 */
export async function rebuildInline(pool: pg.Pool, infos: readonly InlineProjection[], onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<RebuildReport> {
  const names = infos.map((i) => i.name);
  return inShadowSchema(pool, inlineTarget('rebuild', infos), onProgress, async (run) => {
    const bulk = await replayInlineIntoShadow(run, names, opts.pageSize);
    await completeShadowTables(run.client, run.schema, run.tables);
    await run.client.query('BEGIN');
    await run.client.query('LOCK TABLE public.streams IN EXCLUSIVE MODE');
    run.progress('catching-up', bulk.applied);
    const rest = await replayInline(run.client, names, bulk.position, { gapSafe: false, pageSize: opts.pageSize });
    const events = bulk.applied + rest.applied;
    run.progress('swapping', events);
    await swapInShadowTables(run.client, run.schema, run.tables);
    await run.client.query('COMMIT');
    run.progress('done', events);
    return run.report(events);
  });
}

/**
 * Verifies inline projections: replays the log into shadow tables, then, inside one
 * REPEATABLE READ snapshot, applies the events that snapshot sees and compares row by row.
 * Appends are never blocked.
 */
export async function verifyInline(pool: pg.Pool, infos: readonly InlineProjection[], onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<VerifyReport> {
  const names = infos.map((i) => i.name);
  return inShadowSchema(pool, inlineTarget('verify', infos), onProgress, async (run) => {
    const bulk = await replayInlineIntoShadow(run, names, opts.pageSize);
    return compareAtSnapshot(run, bulk.applied, async () =>
      (await replayInline(run.client, names, bulk.position, { gapSafe: false, pageSize: opts.pageSize })).applied);
  });
}

async function readCheckpoint(db: pg.ClientBase, name: string): Promise<Position | undefined> {
  const res = await db.query<{ tx_id: string; seq: string }>('SELECT tx_id, seq FROM public.projection_checkpoints WHERE name = $1', [name]);
  const row = res.rows[0];
  if (!row) throw new Error(`projection ${name} has no checkpoint row`);
  return row.tx_id === '0' && row.seq === '0' ? undefined : encodePosition(row.tx_id, row.seq);
}

const asyncTarget = (mode: 'rebuild' | 'verify', info: AsyncProjection): ShadowTarget => ({
  mode, name: info.name, projection: info.name, tables: info.tables, eventTypes: info.eventTypes,
});

/**
 * Rebuilds an async projection: takes it away from the runner (status `rebuilding`), replays
 * into shadow tables, then swaps them in and moves the checkpoint in one transaction.
 */
export async function rebuildAsync(pool: pg.Pool, info: AsyncProjection, onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<RebuildReport> {
  const claimed = await pool.query(
    `UPDATE projection_checkpoints SET status = 'rebuilding', owner = $2, lease_until = NULL, updated_at = now()
      WHERE name = $1 AND status <> 'rebuilding'`,
    [info.name, `rebuild:${process.pid}`],
  );
  if (claimed.rowCount !== 1) throw new Error(`projection ${info.name} is already being rebuilt`);
  try {
    return await inShadowSchema(pool, asyncTarget('rebuild', info), onProgress, async (run) => {
      const done = await replayAsync(run.client, info, undefined, { gapSafe: true, pageSize: opts.asyncPageSize, onBatch: (p) => run.progress('replaying', p.applied) });
      await completeShadowTables(run.client, run.schema, run.tables);
      run.progress('swapping', done.applied);
      await run.client.query('BEGIN');
      await swapInShadowTables(run.client, run.schema, run.tables);
      const { txId, seq } = decodePosition(done.position);
      await run.client.query(
        `UPDATE public.projection_checkpoints SET tx_id = $2::xid8, seq = $3, status = 'active', owner = NULL,
                lease_until = NULL, updated_at = now() WHERE name = $1`,
        [info.name, txId, seq],
      );
      await run.client.query('COMMIT');
      run.progress('done', done.applied);
      return run.report(done.applied);
    });
  } catch (err) {
    await pool.query(`UPDATE projection_checkpoints SET status = 'active', owner = NULL WHERE name = $1`, [info.name]).catch(() => undefined);
    throw err;
  }
}

/** Verifies an async projection against a replay up to its own checkpoint (same snapshot). */
export async function verifyAsync(pool: pg.Pool, info: AsyncProjection, onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<VerifyReport> {
  return inShadowSchema(pool, asyncTarget('verify', info), onProgress, async (run) => {
    const start = await readCheckpoint(run.client, info.name);
    const bulk = start
      ? await replayAsync(run.client, info, undefined, { until: start, gapSafe: true, pageSize: opts.asyncPageSize, onBatch: (p) => run.progress('replaying', p.applied) })
      : { position: undefined, applied: 0 };
    return compareAtSnapshot(run, bulk.applied, async () => {
      const end = await readCheckpoint(run.client, info.name);
      return end ? (await replayAsync(run.client, info, bulk.position, { until: end, gapSafe: false, inTransaction: true, pageSize: opts.asyncPageSize })).applied : 0;
    });
  });
}

/** Rebuilds the named projection, or all of them (inline ones in a single pass). */
export async function rebuildProjections(pool: pg.Pool, infos: readonly ProjectionInfo[], onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<RebuildReport[]> {
  const reports: RebuildReport[] = [];
  const inline = infos.filter((i): i is InlineProjection => i.kind === 'inline');
  if (inline.length > 0) reports.push(await rebuildInline(pool, inline, onProgress, opts));
  for (const a of infos.filter((i): i is AsyncProjection => i.kind === 'async')) reports.push(await rebuildAsync(pool, a, onProgress, opts));
  return reports;
}

export async function verifyProjections(pool: pg.Pool, infos: readonly ProjectionInfo[], onProgress?: ProgressFn, opts: ReplayOptions = {}): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  const inline = infos.filter((i): i is InlineProjection => i.kind === 'inline');
  if (inline.length > 0) reports.push(await verifyInline(pool, inline, onProgress, opts));
  for (const a of infos.filter((i): i is AsyncProjection => i.kind === 'async')) reports.push(await verifyAsync(pool, a, onProgress, opts));
  return reports;
}
