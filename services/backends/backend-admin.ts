import { createHmac, timingSafeEqual } from 'node:crypto';
import { newUlid } from '../../infra/ids.js';
import { backendStreamId, decideReactivate } from '../../domain/backends/backend-decider.js';
import { DomainError } from '../../domain/errors.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { jobStreamId } from '../../domain/jobs/job-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { backendHoldings, latestJobFor, loadJobRow, type BackendHoldings, type JobRow } from '../../projections/read/job-reads.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { loadBackend } from './backend-lifecycle.js';

export interface DrainStatus {
  backend: string;
  state: string;
  active: boolean;
  jobId: string | null;
  objectsRemaining: number;
  bytesRemaining: number;
  objectsMoved: number;
  bytesMoved: number;
  objectsDropped: number;
  skipped: number;
  failures: number;
  pendingCleanup: number;
  exhaustedCleanup: number;
  uploads: number;
  startedAt: string | null;
  finishedAt: string | null;
  objectsPerSecond: number;
  etaSeconds: number | null;
  lastError: string | null;
}

const purgeTtlMs = 60_000;

/**
 * Operator commands on backends: drain, cancel, reactivate, remove (optionally purging the
 * bytes). Each is a compare-and-swap append on the backend's stream, so two operators (or two
 * instances) cannot start two drains of one backend; long work runs as a job.
 */
export class BackendAdmin {
  constructor(
    private readonly store: EventStore,
    private readonly db: Queryable,
    private readonly events: EventFactory,
    private readonly kickJobs: () => void,
  ) {}

  async startDrain(name: string, cause: Cause): Promise<string> {
    const b = await loadBackend(this.store, name);
    if (b.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${name} is not known`);
    if (b.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${name} is already draining (job ${b.drainJobId})`);
    if (b.lifecycle !== 'active') throw new DomainError('Conflict', `backend ${name} is ${b.lifecycle}; reactivate it first`);
    const held = await backendHoldings(this.db, name);
    const jobId = newUlid(this.events.now().getTime());
    try {
      await this.store.appendToStreams([
        { streamId: backendStreamId(name), events: [this.events.event('BackendDrainStarted', { backend: name, jobId }, cause)], expected: b.revision },
        {
          streamId: jobStreamId(jobId),
          events: [this.events.event('JobStarted', { jobId, kind: 'drain', backend: name, objectsTotal: held.objects, bytesTotal: held.bytes, params: {} }, cause)],
          expected: 'no_stream',
        },
      ]);
    } catch (err) {
      if (err instanceof ConcurrencyError) throw new DomainError('Conflict', `backend ${name} changed meanwhile; try again`);
      throw err;
    }
    this.kickJobs();
    return jobId;
  }

  async cancelDrain(name: string, cause: Cause): Promise<string> {
    const b = await loadBackend(this.store, name);
    if (b.lifecycle !== 'draining' || !b.drainJobId) throw new DomainError('Conflict', `backend ${name} is not draining`);
    const jobId = b.drainJobId;
    await this.store.appendToStreams([
      { streamId: backendStreamId(name), events: [this.events.event('BackendDrainCancelled', { backend: name, jobId }, cause)], expected: b.revision },
      { streamId: jobStreamId(jobId), events: [this.events.event('JobCancelled', { jobId }, cause)], expected: 'stream_exists' },
    ]);
    return jobId;
  }

  async drainStatus(name: string): Promise<DrainStatus> {
    const b = await loadBackend(this.store, name);
    if (b.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${name} is not known`);
    const job: JobRow | undefined = b.drainJobId ? await loadJobRow(this.db, b.drainJobId) : await latestJobFor(this.db, name, ['drain']);
    const held: BackendHoldings = await backendHoldings(this.db, name);
    const moved = (job?.moved ?? 0) + (job?.dropped ?? 0);
    const elapsed = job ? ((job.finishedAt ? Date.parse(job.finishedAt) : this.events.now().getTime()) - Date.parse(job.startedAt)) / 1000 : 0;
    const rate = elapsed > 0 ? moved / elapsed : 0;
    const active = job?.state === 'running';
    return {
      backend: name, state: b.lifecycle, active, jobId: job?.jobId ?? null,
      objectsRemaining: held.objects, bytesRemaining: held.bytes,
      objectsMoved: job?.moved ?? 0, bytesMoved: job?.movedBytes ?? 0, objectsDropped: job?.dropped ?? 0,
      skipped: job?.skipped ?? 0, failures: job?.failed ?? 0,
      pendingCleanup: held.pendingCleanup, exhaustedCleanup: held.exhaustedCleanup, uploads: held.uploads,
      startedAt: job?.startedAt ?? null, finishedAt: job?.finishedAt ?? null,
      objectsPerSecond: rate, etaSeconds: active && rate > 0 ? held.objects / rate : null, lastError: job?.lastError ?? null,
    };
  }

  async reactivate(name: string, cause: Cause): Promise<void> {
    const b = await loadBackend(this.store, name);
    const decided = decideReactivate(b);
    await this.store.appendToStream(backendStreamId(name), [this.events.event(decided.type, decided.data, cause)], { expected: b.revision });
  }

  /** What a purge would delete: the tracked copies on the backend. */
  async purgePreview(name: string, secret: string): Promise<{ objectCount: number; totalBytes: number; confirmToken: string; expiresIn: number }> {
    const b = await loadBackend(this.store, name);
    if (b.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${name} is not known`);
    const held = await backendHoldings(this.db, name);
    return { objectCount: held.objects, totalBytes: held.bytes, confirmToken: purgeToken(name, this.events.now().getTime() + purgeTtlMs, secret), expiresIn: purgeTtlMs / 1000 };
  }

  /**
   * Removes a backend: it leaves the write path at once (BackendRemoved) and a job drops its
   * records (or, with purge, deletes its bytes too). A draining backend cannot be removed.
   */
  async remove(name: string, opts: { purge: boolean; confirmToken?: string; secret: string }, cause: Cause): Promise<string> {
    const b = await loadBackend(this.store, name);
    if (b.lifecycle === 'unregistered') throw new DomainError('NotFound', `backend ${name} is not known`);
    if (b.lifecycle === 'draining') throw new DomainError('Conflict', `backend ${name} is draining; cancel the drain first (drain-cancel)`);
    if (b.lifecycle === 'removed' || b.lifecycle === 'purged') throw new DomainError('Conflict', `backend ${name} is already ${b.lifecycle}`);
    if (opts.purge && !verifyPurgeToken(opts.confirmToken ?? '', name, this.events.now().getTime(), opts.secret)) {
      throw new DomainError('AccessDenied', 'invalid or expired confirmation token');
    }
    const held = await backendHoldings(this.db, name);
    const jobId = newUlid(this.events.now().getTime());
    await this.store.appendToStreams([
      { streamId: backendStreamId(name), events: [this.events.event('BackendRemoved', { backend: name, jobId }, cause)], expected: b.revision },
      {
        streamId: jobStreamId(jobId),
        events: [this.events.event('JobStarted', { jobId, kind: opts.purge ? 'purge' : 'remove', backend: name, objectsTotal: held.objects, bytesTotal: held.bytes, params: {} }, cause)],
        expected: 'no_stream',
      },
    ]);
    this.kickJobs();
    return jobId;
  }
}

/** `b64url("purge|<backend>|<expiry ms>").b64url(HMAC-SHA256(secret, payload))`, as the original. */
export function purgeToken(backend: string, expiresAtMs: number, secret: string): string {
  const payload = Buffer.from(`purge|${backend}|${expiresAtMs}`).toString('base64url');
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}

export function verifyPurgeToken(token: string, backend: string, nowMs: number, secret: string): boolean {
  const [payload, mac] = token.split('.');
  if (!payload || !mac) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(payload).digest('base64url'));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const [kind, name, expiry] = Buffer.from(payload, 'base64url').toString().split('|');
  return kind === 'purge' && name === backend && Number(expiry) >= nowMs;
}
