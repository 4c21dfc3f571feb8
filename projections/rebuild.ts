import type pg from 'pg';
import type { Position } from '../domain/eventstore/port.js';
import { decodePosition, encodePosition } from '../infra/eventstore/positions.js';
import type { AsyncProjection } from './async/projection.js';
import type { InlineProjection } from './inline/inline-projection.js';
import type { ProjectionInfo } from './registry.js';
import { replayAsync, replayInline } from './replay.js';
import { createShadowTables, diffTables, dropShadowSchema, swapInShadowTables, type TableDiff } from './shadow.js';

export interface RebuildProgress {
  projection: string;
  phase: 'replaying' | 'catching-up' | 'comparing' | 'swapping' | 'done';
  applied: number;
  total: number;
}

export type ProgressFn = (p: RebuildProgress) => void;

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

/** Runs `fn` on a dedicated connection that is discarded afterwards (it changes search_path). */
async function withDedicatedClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release(true);
  }
}

const shadowFor = (mode: 'rebuild' | 'verify', name: string) => `s3o_${mode}_${name}`;

function report(projection: string, events: number, startedAt: number): RebuildReport {
  const seconds = (performance.now() - startedAt) / 1000;
  return { projection, events, seconds, eventsPerSecond: seconds > 0 ? events / seconds : events };
}

/**
 * Rebuilds inline projections: replays the whole log into shadow tables while appends go on,
 * then briefly fences appends (EXCLUSIVE lock on streams; reads continue), applies the last
 * events and swaps the shadow tables in.
 */
export async function rebuildInline(pool: pg.Pool, infos: readonly InlineProjection[], onProgress?: ProgressFn): Promise<RebuildReport> {
  const name = infos.map((i) => i.name).join('+');
  const names = infos.map((i) => i.name);
  const tables = infos.flatMap((i) => i.tables);
  const schema = shadowFor('rebuild', infos.length === 1 ? (infos[0]?.name ?? 'inline') : 'inline');
  return withDedicatedClient(pool, async (client) => {
    const startedAt = performance.now();
    const total = await countEvents(client);
    await createShadowTables(client, schema, tables);
    await client.query(`SET search_path = ${schema}, public`);
    const bulk = await replayInline(client, names, undefined, {
      gapSafe: true,
      analyze: tables.map((t) => `${schema}.${t}`),
      onBatch: (p) => onProgress?.({ projection: name, phase: 'replaying', applied: p.applied, total }),
    });
    await client.query('BEGIN');
    try {
      await client.query('LOCK TABLE public.streams IN EXCLUSIVE MODE');
      onProgress?.({ projection: name, phase: 'catching-up', applied: bulk.applied, total });
      const rest = await replayInline(client, names, bulk.position, { gapSafe: false });
      onProgress?.({ projection: name, phase: 'swapping', applied: bulk.applied + rest.applied, total });
      await swapInShadowTables(client, schema, tables);
      await client.query('COMMIT');
      await dropShadowSchema(client, schema);
      const events = bulk.applied + rest.applied;
      onProgress?.({ projection: name, phase: 'done', applied: events, total: Math.max(total, events) });
      return report(name, events, startedAt);
    } catch (err) {
      await client.query('ROLLBACK');
      await dropShadowSchema(client, schema).catch(() => undefined);
      throw err;
    }
  });
}

/**
 * Verifies inline projections: replays the log into shadow tables, then, inside one
 * REPEATABLE READ snapshot, applies the events that snapshot sees and compares row by row.
 * Appends are never blocked.
 */
export async function verifyInline(pool: pg.Pool, infos: readonly InlineProjection[], onProgress?: ProgressFn): Promise<VerifyReport> {
  const name = infos.map((i) => i.name).join('+');
  const names = infos.map((i) => i.name);
  const tables = infos.flatMap((i) => i.tables);
  const schema = shadowFor('verify', infos.length === 1 ? (infos[0]?.name ?? 'inline') : 'inline');
  return withDedicatedClient(pool, async (client) => {
    const startedAt = performance.now();
    const total = await countEvents(client);
    await createShadowTables(client, schema, tables);
    try {
      await client.query(`SET search_path = ${schema}, public`);
      const bulk = await replayInline(client, names, undefined, {
        gapSafe: true,
        analyze: tables.map((t) => `${schema}.${t}`),
        onBatch: (p) => onProgress?.({ projection: name, phase: 'replaying', applied: p.applied, total }),
      });
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      try {
        const rest = await replayInline(client, names, bulk.position, { gapSafe: false });
        const events = bulk.applied + rest.applied;
        onProgress?.({ projection: name, phase: 'comparing', applied: events, total: Math.max(total, events) });
        const diffs = await diffTables(client, schema, tables);
        onProgress?.({ projection: name, phase: 'done', applied: events, total: Math.max(total, events) });
        return { ...report(name, events, startedAt), diffs, identical: diffs.every((d) => d.onlyInLive + d.onlyInRebuilt === 0) };
      } finally {
        await client.query('ROLLBACK');
      }
    } finally {
      await client.query('RESET search_path');
      await dropShadowSchema(client, schema);
    }
  });
}

async function readCheckpoint(db: pg.ClientBase, name: string): Promise<Position | undefined> {
  const res = await db.query<{ tx_id: string; seq: string }>('SELECT tx_id, seq FROM public.projection_checkpoints WHERE name = $1', [name]);
  const row = res.rows[0];
  if (!row) throw new Error(`projection ${name} has no checkpoint row`);
  return row.tx_id === '0' && row.seq === '0' ? undefined : encodePosition(row.tx_id, row.seq);
}

/**
 * Rebuilds an async projection: takes it away from the runner (status `rebuilding`), replays
 * into shadow tables, then swaps them in and moves the checkpoint in one transaction.
 */
export async function rebuildAsync(pool: pg.Pool, info: AsyncProjection, onProgress?: ProgressFn): Promise<RebuildReport> {
  const schema = shadowFor('rebuild', info.name);
  return withDedicatedClient(pool, async (client) => {
    const startedAt = performance.now();
    const claimed = await client.query(
      `UPDATE projection_checkpoints SET status = 'rebuilding', owner = $2, lease_until = NULL, updated_at = now()
        WHERE name = $1 AND status <> 'rebuilding'`,
      [info.name, `rebuild:${process.pid}`],
    );
    if (claimed.rowCount !== 1) throw new Error(`projection ${info.name} is already being rebuilt`);
    try {
      const total = await countEvents(client, info.eventTypes);
      await createShadowTables(client, schema, info.tables);
      await client.query(`SET search_path = ${schema}, public`);
      const done = await replayAsync(client, info, undefined, {
        gapSafe: true,
        onBatch: (p) => onProgress?.({ projection: info.name, phase: 'replaying', applied: p.applied, total }),
      });
      onProgress?.({ projection: info.name, phase: 'swapping', applied: done.applied, total });
      await client.query('RESET search_path');
      await client.query('BEGIN');
      await swapInShadowTables(client, schema, info.tables);
      const { txId, seq } = decodePosition(done.position);
      await client.query(
        `UPDATE projection_checkpoints SET tx_id = $2::xid8, seq = $3, status = 'active', owner = NULL,
                lease_until = NULL, updated_at = now() WHERE name = $1`,
        [info.name, txId, seq],
      );
      await client.query('COMMIT');
      await dropShadowSchema(client, schema);
      onProgress?.({ projection: info.name, phase: 'done', applied: done.applied, total: Math.max(total, done.applied) });
      return report(info.name, done.applied, startedAt);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.query('RESET search_path').catch(() => undefined);
      await client.query(`UPDATE projection_checkpoints SET status = 'active', owner = NULL WHERE name = $1`, [info.name]).catch(() => undefined);
      await dropShadowSchema(client, schema).catch(() => undefined);
      throw err;
    }
  });
}

/** Verifies an async projection against a replay up to its own checkpoint (same snapshot). */
export async function verifyAsync(pool: pg.Pool, info: AsyncProjection, onProgress?: ProgressFn): Promise<VerifyReport> {
  const schema = shadowFor('verify', info.name);
  return withDedicatedClient(pool, async (client) => {
    const startedAt = performance.now();
    const total = await countEvents(client, info.eventTypes);
    const start = await readCheckpoint(client, info.name);
    await createShadowTables(client, schema, info.tables);
    try {
      await client.query(`SET search_path = ${schema}, public`);
      const bulk = start
        ? await replayAsync(client, info, undefined, {
            until: start,
            gapSafe: true,
            onBatch: (p) => onProgress?.({ projection: info.name, phase: 'replaying', applied: p.applied, total }),
          })
        : { position: undefined, applied: 0 };
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      try {
        const end = await readCheckpoint(client, info.name);
        const rest = end
          ? await replayAsync(client, info, bulk.position, { until: end, gapSafe: false, inTransaction: true })
          : { applied: 0 };
        const events = bulk.applied + rest.applied;
        onProgress?.({ projection: info.name, phase: 'comparing', applied: events, total: Math.max(total, events) });
        const diffs = await diffTables(client, schema, info.tables);
        onProgress?.({ projection: info.name, phase: 'done', applied: events, total: Math.max(total, events) });
        return { ...report(info.name, events, startedAt), diffs, identical: diffs.every((d) => d.onlyInLive + d.onlyInRebuilt === 0) };
      } finally {
        await client.query('ROLLBACK');
      }
    } finally {
      await client.query('RESET search_path');
      await dropShadowSchema(client, schema);
    }
  });
}

/** Rebuilds the named projection, or all of them (inline ones in a single pass). */
export async function rebuildProjections(pool: pg.Pool, infos: readonly ProjectionInfo[], onProgress?: ProgressFn): Promise<RebuildReport[]> {
  const reports: RebuildReport[] = [];
  const inline = infos.filter((i): i is InlineProjection => i.kind === 'inline');
  if (inline.length > 0) reports.push(await rebuildInline(pool, inline, onProgress));
  for (const a of infos.filter((i): i is AsyncProjection => i.kind === 'async')) reports.push(await rebuildAsync(pool, a, onProgress));
  return reports;
}

export async function verifyProjections(pool: pg.Pool, infos: readonly ProjectionInfo[], onProgress?: ProgressFn): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  const inline = infos.filter((i): i is InlineProjection => i.kind === 'inline');
  if (inline.length > 0) reports.push(await verifyInline(pool, inline, onProgress));
  for (const a of infos.filter((i): i is AsyncProjection => i.kind === 'async')) reports.push(await verifyAsync(pool, a, onProgress));
  return reports;
}
