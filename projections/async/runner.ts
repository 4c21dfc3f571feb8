import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Position } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { encodePosition } from '../../infra/eventstore/positions.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { AsyncProjection } from './projection.js';

export interface ProjectionRunnerOptions {
  owner: string;
  logger: Logger;
  leaseMs?: number;
  batchSize?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
  /**
   * A woken projection steps at most once per this many ms (default 250): every append wakes
   * it, and a burst of writes is then applied in one page, not one transaction per write. A step's
   * cost is mostly fixed (claim, page, plan, commit), so under steady writes fewer, larger pages
   * cost PostgreSQL less per write; a write after a quiet spell is still applied at once.
   */
  coalesceMs?: number;
}

export interface ProjectionStatus {
  name: string;
  position: Position | undefined;
  owner: string | null;
  leaseUntil: string | null;
  status: string;
  lag: number;
}

/** How soon a woken runner looks again while committed events wait behind an older open transaction. */
const HORIZON_RETRY_MS = 20;

/**
 * Keeps async projections up to date. Per projection and page, in one transaction: claim the
 * lease row (owner token + expiry), find the next gap-safe page, apply it with one statement and
 * move the checkpoint. Idle projections poll with back-off; `wake()`
 * (local appends, LISTEN/NOTIFY from other instances) cuts the wait short.
 */
export class ProjectionRunner {
  private running = false;
  /** Aborted by stop(): cuts short a pause between coalesced steps. */
  private stopping = new AbortController();
  private loops: Promise<void>[] = [];
  /** Per projection: its wakes (counted, so a wake that arrives during a step is not lost) and who waits for one. */
  private readonly alarms: Map<string, Alarm>;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  private readonly coalesceMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly projections: readonly AsyncProjection[],
    private readonly opts: ProjectionRunnerOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.batchSize = opts.batchSize ?? 1000;
    this.pollMinMs = opts.pollMinMs ?? 50;
    this.pollMaxMs = opts.pollMaxMs ?? 1000;
    this.coalesceMs = opts.coalesceMs ?? 250;
    this.alarms = new Map(projections.map((p) => [p.name, new Alarm(new Set(p.eventTypes))]));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.loops = this.projections.map((p) => this.loop(p));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wake();
    await Promise.all(this.loops);
    this.loops = [];
    await this.pool
      .query('UPDATE projection_checkpoints SET owner = NULL, lease_until = NULL WHERE owner = $1', [this.opts.owner])
      .catch(() => undefined);
  }

  /** Wakes every projection (another instance appended). */
  wake(): void {
    for (const a of this.alarms.values()) a.ring();
  }

  /**
   * Wakes the projections that handle one of the types of events this instance appended: the
   * others changed nothing those projections show (a drain's job and move events; a PUT for
   * usage_monthly), and each wake costs the projection a claim and a read. True when one woke.
   */
  appended(types: readonly string[]): boolean {
    let woke = false;
    for (const a of this.alarms.values()) {
      if (types.some((t) => a.types.has(t))) {
        a.ring();
        woke = true;
      }
    }
    return woke;
  }

  /**
   * A wake means events were committed. The gap-safe read may not see them yet while an older
   * transaction anywhere on the server is open, so a woken runner keeps looking at short
   * intervals until it has applied them, instead of backing off past them. Its steps are
   * `coalesceMs` apart (unless a page was cut short by its size): the appends committed during one
   * step are all taken by the next, however many woke it.
   */
  private async loop(p: AsyncProjection): Promise<void> {
    const alarm = this.alarms.get(p.name) as Alarm;
    let backoff = this.pollMinMs;
    let seenWakes = alarm.wakes;
    let expecting = false;
    let lastStep = 0;
    while (this.running) {
      if (alarm.wakes !== seenWakes) {
        seenWakes = alarm.wakes;
        expecting = true;
        await this.pause(lastStep + this.coalesceMs - Date.now());
      }
      let wait = backoff;
      try {
        lastStep = Date.now();
        const { applied, advanced, more, owned } = await this.stepOwned(p);
        if (more) {
          backoff = this.pollMinMs;
          continue;
        }
        // A page of other projections' events only moved the checkpoint: polling keeps backing off.
        if (applied > 0) backoff = this.pollMinMs;
        wait = backoff;
        if (advanced) {
          // The page may have stopped short of the awaited events (the horizon): look again soon.
          if (expecting) wait = Math.min(this.coalesceMs, backoff);
        } else if (expecting && owned && (await this.behind(p))) wait = Math.min(HORIZON_RETRY_MS, backoff);
        else expecting = false;
      } catch (err) {
        this.opts.logger.warn({ err, projection: p.name }, 'projection step failed');
      }
      await this.idle(alarm, wait, seenWakes);
      if (wait === backoff) backoff = Math.min(this.pollMaxMs, backoff * 2);
    }
  }

  /** Sleeps `ms`, or not at all when woken since `seenWakes` (or stopping). */
  private async idle(alarm: Alarm, ms: number, seenWakes: number): Promise<void> {
    if (alarm.wakes !== seenWakes || !this.running) return;
    await alarm.sleep(ms);
  }

  /** Sleeps `ms` whatever wakes arrive (the step after it takes their events); only stopping cuts it short. */
  private async pause(ms: number): Promise<void> {
    if (ms > 0 && this.running) await sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  /** Processes at most one page; returns the number of its events applied (0 when idle or not ours). */
  async step(p: AsyncProjection): Promise<number> {
    return (await this.stepOwned(p)).applied;
  }

  /** Whether events of `p` exist after its checkpoint (up to `head` when given), visible to gap-safe reads or not. */
  private async behind(p: AsyncProjection, head?: { tx_id: string; seq: string }): Promise<boolean> {
    // A type at a time, each an index range (events_type_order) that stops at its first event.
    const res = await this.pool.query({
      name: 's3o_projection_behind',
      text: `SELECT 1 FROM projection_checkpoints c, unnest($2::text[]) AS t(type)
              WHERE c.name = $1 AND EXISTS (SELECT 1 FROM public.events e WHERE e.type = t.type AND (e.tx_id, e.seq) > (c.tx_id, c.seq)
                AND ($3::xid8 IS NULL OR (e.tx_id, e.seq) <= ($3::xid8, $4::bigint))) LIMIT 1`,
      values: [p.name, p.eventTypes, head?.tx_id ?? null, head?.seq ?? null],
    });
    return res.rowCount !== 0;
  }

  /**
   * One statement, so one round trip and one transaction (s3o_projection_step, projections/schema/runner.sql):
   * claim the lease (the row stays locked until the commit, so no other instance can take the
   * projection over mid-page), find the next gap-safe page, apply it set-based and move the
   * checkpoint. An idle claim still commits, to keep the lease. Named, so each connection parses it once.
   */
  private async stepOwned(p: AsyncProjection): Promise<{ applied: number; advanced: boolean; more: boolean; owned: boolean }> {
    const res = await this.pool.query<{ owned: boolean; advanced: boolean; applied: number; more: boolean }>({
      name: 's3o_projection_step',
      text: 'SELECT owned, advanced, applied, more FROM s3o_projection_step($1, $2, $3, $4::text[], $5)',
      values: [p.name, this.opts.owner, this.leaseMs, p.eventTypes, this.batchSize],
    });
    const r = res.rows[0];
    return r ?? { applied: 0, advanced: false, more: false, owned: false };
  }

  /**
   * Applies everything committed before the call. Waits while an older transaction anywhere on
   * the server still holds the gap-safe horizon back (up to `timeoutMs`).
   */
  async catchUp(timeoutMs = 30_000): Promise<void> {
    const head = await this.pool.query<{ tx_id: string; seq: string }>('SELECT tx_id, seq FROM events ORDER BY tx_id DESC, seq DESC LIMIT 1');
    const last = head.rows[0];
    if (!last) return;
    const deadline = Date.now() + timeoutMs;
    for (const p of this.projections) {
      for (;;) {
        if ((await this.stepOwned(p)).advanced) continue;
        if (!(await this.behind(p, last))) break;
        if (Date.now() > deadline) throw new Error(`projection ${p.name} did not catch up within ${timeoutMs} ms`);
        await sleep(20);
      }
    }
  }
}

/** Checkpoint, owner and lag (events after the checkpoint, capped) of every async projection. */
export async function projectionStatuses(db: Queryable, projections: readonly AsyncProjection[]): Promise<ProjectionStatus[]> {
  const out: ProjectionStatus[] = [];
  for (const p of projections) {
    const res = await db.query<{ tx_id: string; seq: string; owner: string | null; lease_until: Date | null; status: string; lag: string }>(
      `SELECT c.tx_id, c.seq, c.owner, c.lease_until, c.status,
              (SELECT count(*) FROM (SELECT 1 FROM events e WHERE (e.tx_id, e.seq) > (c.tx_id, c.seq)
                                       AND e.type = ANY($2::text[]) LIMIT 10000000) x) AS lag
         FROM projection_checkpoints c WHERE c.name = $1`,
      [p.name, p.eventTypes],
    );
    const r = res.rows[0];
    if (!r) continue;
    out.push({
      name: p.name,
      position: r.tx_id === '0' && r.seq === '0' ? undefined : encodePosition(r.tx_id, r.seq),
      owner: r.owner,
      leaseUntil: r.lease_until ? r.lease_until.toISOString() : null,
      status: r.status,
      lag: Number(r.lag),
    });
  }
  return out;
}

/** One projection's wake-ups: counted, and a sleep that a wake (or stopping) cuts short. */
class Alarm {
  wakes = 0;
  private readonly wakers = new Set<() => void>();

  constructor(readonly types: ReadonlySet<string>) {}

  ring(): void {
    this.wakes++;
    for (const w of this.wakers) w();
    this.wakers.clear();
  }

  async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    const ac = new AbortController();
    const waker = () => ac.abort();
    this.wakers.add(waker);
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
    this.wakers.delete(waker);
  }
}
