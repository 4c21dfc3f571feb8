import type pg from 'pg';
import { lifecycleAfter } from '../../domain/backends/backend-state.js';
import type { AppendResult, Position, StreamAppend } from '../../domain/eventstore/port.js';
import type { BackendCandidate } from '../../domain/placement/placement.js';
import { decodePosition } from '../../infra/eventstore/positions.js';
import { BackendClient, type BackendCallInfo, type BackendConnection, type BackendOp } from '../../infra/backend/index.js';
import type { UsageLimits, UsageMeter } from '../usage/usage-meter.js';
import { CircuitBreaker, type BreakerSettings, type BreakerState } from '../../infra/resilience/circuit-breaker.js';

/** What the orchestrator needs to know about one configured backend. */
export interface BackendSettings {
  name: string;
  connection: BackendConnection;
  quotaBytes: number;
  maxObjectSize: number;
  limits: UsageLimits;
}

export interface BackendSnapshot {
  state: string;
  quotaBytes: number;
  usedBytes: number;
  objectCount: number;
  orphanBytes: number;
  pendingBytes: number;
}

export interface ConfiguredBackend {
  settings: BackendSettings;
  order: number;
  client: BackendClient;
  breaker: CircuitBreaker;
}

export interface UsageDelta {
  used?: number;
  orphan?: number;
  pending?: number;
  count?: number;
}

/** A local adjustment (usage, or a lifecycle state this process committed) and the local commit it follows (the latest one acknowledged when it was noted). */
interface NotedDelta {
  name: string;
  delta: UsageDelta;
  state?: string;
  after: Position | undefined;
}

/** Room taken by work in flight that no commit records yet (a part streaming to its backend). */
interface Held {
  name: string;
  delta: UsageDelta;
}

/** Adjustments kept for the next refresh at most; beyond that the oldest are left to the reads. */
const maxNoted = 10_000;

/** Whether transaction `tx` is visible in a `pg_snapshot` given as text (`xmin:xmax:xip,…`). */
function visibleIn(snapshot: string, tx: bigint): boolean {
  const [xmin, xmax, xip] = snapshot.split(':');
  if (xmin === undefined || xmax === undefined) return true;
  if (tx < BigInt(xmin)) return true;
  if (tx >= BigInt(xmax)) return false;
  return !(xip ?? '').split(',').some((x) => x !== '' && BigInt(x) === tx);
}

function applyDelta(s: BackendSnapshot, delta: UsageDelta, sign = 1): void {
  s.usedBytes += sign * (delta.used ?? 0);
  s.orphanBytes += sign * (delta.orphan ?? 0);
  s.pendingBytes += sign * (delta.pending ?? 0);
  s.objectCount += sign * (delta.count ?? 0);
}

function applyNoted(s: BackendSnapshot, n: NotedDelta): void {
  applyDelta(s, n.delta);
  if (n.state !== undefined) s.state = n.state;
}

/** Operations that cost one API request each on a backend; GET bytes are egress, PUT bytes ingress. */
const meteredOps: ReadonlySet<BackendOp> = new Set([
  'PutObject', 'GetObject', 'HeadObject', 'DeleteObject', 'CreateMultipartUpload', 'UploadPart',
  'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListObjectsV2', 'CopyObject', 'ListMultipartUploads',
]);

/**
 * The configured backends at run time: one client (undici pool) and one circuit breaker each,
 * plus a recent snapshot of their lifecycle state and usage from the projections. The snapshot
 * is for choosing where to write; the append transaction is what enforces quotas.
 */
export class BackendDirectory {
  private readonly backends = new Map<string, ConfiguredBackend>();
  private snapshot = new Map<string, BackendSnapshot>();
  private lastCommit: Position | undefined;
  private noted: NotedDelta[] = [];
  private readonly held = new Set<Held>();
  private readsIssued = 0;
  private readApplied = 0;

  constructor(
    settings: readonly BackendSettings[],
    breakerSettings: BreakerSettings,
    private readonly meter: UsageMeter,
    hooks: { onBreakerTransition?: (backend: string, from: BreakerState, to: BreakerState) => void; onCall?: (backend: string, op: BackendOp, info: BackendCallInfo) => void } = {},
  ) {
    settings.forEach((s, order) => {
      const breaker = new CircuitBreaker(breakerSettings, Date.now, Math.random, (from, to) => hooks.onBreakerTransition?.(s.name, from, to));
      const client = new BackendClient(s.connection, {
        onCall: (op, info) => {
          if (meteredOps.has(op)) meter.record(s.name, { apiRequests: 1, egressBytes: info.bytesIn, ingressBytes: info.bytesOut });
          if (info.outcome === 'ok' || info.outcome === 'not_found') breaker.recordSuccess();
          else if (info.outcome === 'unavailable' || (info.outcome === 'http_error' && info.status >= 500)) breaker.recordFailure();
          hooks.onCall?.(s.name, op, info);
        },
      });
      this.backends.set(s.name, { settings: s, order, client, breaker });
    });
  }

  names(): string[] {
    return [...this.backends.keys()];
  }

  get(name: string): ConfiguredBackend | undefined {
    return this.backends.get(name);
  }

  require(name: string): ConfiguredBackend {
    const b = this.backends.get(name);
    if (!b) throw new Error(`backend ${name} is not configured`);
    return b;
  }

  /** Replaces limits from a config reload (quota, usage limits), keeping clients and breakers. */
  updateLimits(name: string, quotaBytes: number, limits: UsageLimits): void {
    const b = this.backends.get(name);
    if (b) b.settings = { ...b.settings, quotaBytes, limits };
  }

  updateBreakers(settings: BreakerSettings): void {
    for (const b of this.backends.values()) b.breaker.update(settings);
  }

  state(name: string): BackendSnapshot | undefined {
    return this.snapshot.get(name);
  }

  /**
   * Reads the projections' view. A read does not undo what this process noted since: the
   * adjustments that follow a local commit the read's snapshot does not see yet are applied to it
   * again (a read taken before a commit and answered after it would otherwise hide that commit
   * for a refresh interval: a backend freed by a delete still refusing writes as full). A read
   * answered after a later one is dropped.
   */
  async refresh(db: pg.Pool): Promise<void> {
    const issued = ++this.readsIssued;
    const res = await db.query<{
      backend: string; state: string | null; quota_bytes: string; bytes_used: string; object_count: string; orphan_bytes: string; pending_bytes: string;
      snap?: string;
    }>(
      `SELECT u.backend, s.state, u.quota_bytes, u.bytes_used, u.object_count, u.orphan_bytes, u.pending_bytes,
              pg_current_snapshot()::text AS snap
         FROM backend_usage u LEFT JOIN backend_state s ON s.backend = u.backend`,
    );
    if (issued < this.readApplied) return;
    this.readApplied = issued;
    const next = new Map(
      res.rows.map((r) => [
        r.backend,
        {
          state: r.state ?? 'unregistered',
          quotaBytes: Number(r.quota_bytes),
          usedBytes: Number(r.bytes_used),
          objectCount: Number(r.object_count),
          orphanBytes: Number(r.orphan_bytes),
          pendingBytes: Number(r.pending_bytes),
        },
      ]),
    );
    const snap = res.rows[0]?.snap;
    this.noted = snap === undefined ? [] : this.noted.filter((n) => {
      if (n.after === undefined || visibleIn(snap, BigInt(decodePosition(n.after).txId))) return false;
      const s = next.get(n.name);
      if (s) applyNoted(s, n);
      return true;
    });
    for (const h of this.held) {
      const s = next.get(h.name);
      if (s) applyDelta(s, h.delta);
    }
    this.snapshot = next;
  }

  /**
   * Told of every append this process committed, before its caller goes on (and notes usage). A
   * backend's lifecycle change is noted at once: until a read saw it, a backend this process just
   * started draining (or drained, or removed) would still be chosen as a target by its own moves and writes.
   */
  committed(results: readonly AppendResult[], appends: readonly StreamAppend[]): void {
    const last = results[results.length - 1];
    if (!last) return;
    this.lastCommit = last.position;
    for (const a of appends) {
      for (const e of a.events) {
        const state = lifecycleAfter(e.type);
        const name = (e.data as { backend?: unknown }).backend;
        if (state === undefined || typeof name !== 'string') continue;
        const s = this.snapshot.get(name);
        if (s) s.state = state;
        this.remember({ name, delta: {}, state, after: last.position });
      }
    }
  }

  /**
   * Counts `delta` on `name` through every refresh until the returned function releases it: for
   * room taken by work in flight that no commit records (yet), which no read of the projections
   * can show. Noted usage follows a commit and is dropped once a read sees that commit.
   */
  hold(name: string, delta: UsageDelta): () => void {
    const h: Held = { name, delta };
    this.held.add(h);
    const s = this.snapshot.get(name);
    if (s) applyDelta(s, delta);
    return () => {
      if (!this.held.delete(h)) return;
      const now = this.snapshot.get(name);
      if (now) applyDelta(now, delta, -1);
    };
  }

  /** Adjusts the local snapshot right after a local commit (never before: see `hold`), until a read sees that commit. */
  noteUsage(name: string, delta: UsageDelta): void {
    const s = this.snapshot.get(name);
    if (!s) return;
    applyDelta(s, delta);
    this.remember({ name, delta, after: this.lastCommit });
  }

  private remember(n: NotedDelta): void {
    if (this.noted.push(n) > maxNoted) this.noted.shift();
  }

  /** Every configured backend as the router sees it for an operation of `size` bytes. */
  candidates(size: number): BackendCandidate[] {
    return [...this.backends.values()].map((b) => {
      const snap = this.snapshot.get(b.settings.name);
      return {
        name: b.settings.name,
        order: b.order,
        state: snap?.state ?? 'unregistered',
        circuitOpen: !b.breaker.isAvailable(),
        quotaBytes: b.settings.quotaBytes,
        usedBytes: snap?.usedBytes ?? 0,
        orphanBytes: snap?.orphanBytes ?? 0,
        pendingBytes: snap?.pendingBytes ?? 0,
        usageExceeded: this.meter.wouldExceed(b.settings.name, b.settings.limits, { apiRequests: 1, ingressBytes: size }),
        maxObjectSize: b.settings.maxObjectSize,
      };
    });
  }

  /** Whether a read of `bytes` from this backend fits its monthly limits. */
  canRead(name: string, bytes: number): boolean {
    const b = this.backends.get(name);
    if (!b) return false;
    return !this.meter.wouldExceed(name, b.settings.limits, { apiRequests: 1, egressBytes: bytes });
  }

  async close(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => b.client.close()));
  }
}
