import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Position } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { decodePosition, encodePosition } from '../../infra/eventstore/positions.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { nextPage } from './pages.js';
import type { AsyncProjection } from './projection.js';

export interface ProjectionRunnerOptions {
  owner: string;
  logger: Logger;
  leaseMs?: number;
  batchSize?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
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
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  /** Counts wake() calls, so a wake that arrives during a step is not lost. */
  private wakes = 0;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  private readonly handled: ReadonlySet<string>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly projections: readonly AsyncProjection[],
    private readonly opts: ProjectionRunnerOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.batchSize = opts.batchSize ?? 1000;
    this.pollMinMs = opts.pollMinMs ?? 50;
    this.pollMaxMs = opts.pollMaxMs ?? 1000;
    this.handled = new Set(projections.flatMap((p) => p.eventTypes));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.projections.map((p) => this.loop(p));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await Promise.all(this.loops);
    this.loops = [];
    await this.pool
      .query('UPDATE projection_checkpoints SET owner = NULL, lease_until = NULL WHERE owner = $1', [this.opts.owner])
      .catch(() => undefined);
  }

  wake(): void {
    this.wakes++;
    for (const w of this.wakers) w();
    this.wakers.clear();
  }

  /**
   * Wakes the runner for events this instance appended, when one of them is of a type some
   * projection handles: the others change nothing a projection shows (a drain's job and move
   * events), and each wake costs every projection a claim and a read. True when it woke.
   */
  appended(types: Iterable<string>): boolean {
    for (const t of types) {
      if (this.handled.has(t)) {
        this.wake();
        return true;
      }
    }
    return false;
  }

  /** Sleeps `ms`, or not at all when woken since `seenWakes`. */
  private async idle(ms: number, seenWakes: number): Promise<void> {
    if (this.wakes !== seenWakes || !this.running) return;
    const ac = new AbortController();
    const waker = () => ac.abort();
    this.wakers.add(waker);
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
    this.wakers.delete(waker);
  }

  /**
   * A wake means events were committed. The gap-safe read may not see them yet while an older
   * transaction anywhere on the server is open, so a woken runner keeps looking at short
   * intervals until it has applied them, instead of backing off past them.
   */
  private async loop(p: AsyncProjection): Promise<void> {
    let backoff = this.pollMinMs;
    let seenWakes = this.wakes;
    let expecting = false;
    while (this.running) {
      if (this.wakes !== seenWakes) {
        seenWakes = this.wakes;
        expecting = true;
      }
      let wait = backoff;
      try {
        const { advanced, owned } = await this.stepOwned(p);
        if (advanced) {
          backoff = this.pollMinMs;
          continue;
        }
        if (expecting && owned && (await this.behind(p))) wait = Math.min(HORIZON_RETRY_MS, backoff);
        else expecting = false;
      } catch (err) {
        this.opts.logger.warn({ err, projection: p.name }, 'projection step failed');
      }
      await this.idle(wait, seenWakes);
      if (wait === backoff) backoff = Math.min(this.pollMaxMs, backoff * 2);
    }
  }

  /** Processes at most one page; returns the number of its events applied (0 when idle or not ours). */
  async step(p: AsyncProjection): Promise<number> {
    return (await this.stepOwned(p)).applied;
  }

  /** Whether events of `p` exist after its checkpoint (up to `head` when given), visible to gap-safe reads or not. */
  private async behind(p: AsyncProjection, head?: { tx_id: string; seq: string }): Promise<boolean> {
    const res = await this.pool.query(
      `SELECT 1 FROM events e, projection_checkpoints c
        WHERE c.name = $1 AND (e.tx_id, e.seq) > (c.tx_id, c.seq) AND ($3::xid8 IS NULL OR (e.tx_id, e.seq) <= ($3::xid8, $4::bigint))
          AND e.type = ANY($2::text[]) LIMIT 1`,
      [p.name, p.eventTypes, head?.tx_id ?? null, head?.seq ?? null],
    );
    return res.rowCount !== 0;
  }

  /**
   * One transaction, one commit: claim the lease (the row stays locked until the commit, so no
   * other instance can take the projection over mid-page), find the next page, apply it set-based
   * and move the checkpoint. An idle claim still commits, to keep the lease.
   */
  private async stepOwned(p: AsyncProjection): Promise<{ applied: number; advanced: boolean; owned: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const claim = await client.query<{ tx_id: string; seq: string }>(
        `UPDATE projection_checkpoints SET owner = $2, lease_until = now() + make_interval(secs => $3 / 1000.0), updated_at = now()
          WHERE name = $1 AND status = 'active' AND (owner IS NULL OR owner = $2 OR lease_until < now())
          RETURNING tx_id, seq`,
        [p.name, this.opts.owner, this.leaseMs],
      );
      const cp = claim.rows[0];
      if (!cp) {
        await client.query('ROLLBACK');
        return { applied: 0, advanced: false, owned: false };
      }
      const from = cp.tx_id === '0' && cp.seq === '0' ? undefined : encodePosition(cp.tx_id, cp.seq);
      const page = await nextPage(client, p.eventTypes, from, { limit: this.batchSize, gapSafe: true });
      if (page) {
        if (page.matched > 0) await p.applyPage(client, page);
        const next = decodePosition(page.last);
        await client.query(
          'UPDATE projection_checkpoints SET tx_id = $2::xid8, seq = $3, updated_at = now() WHERE name = $1',
          [p.name, next.txId, next.seq],
        );
      }
      await client.query('COMMIT');
      return { applied: page?.matched ?? 0, advanced: page !== undefined, owned: true };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
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
