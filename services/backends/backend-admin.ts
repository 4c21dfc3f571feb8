import { createHmac, timingSafeEqual } from 'node:crypto';
import { newUlid } from '../../infra/ids.js';
import { decideBackend, requireKnown } from '../../domain/backends/backend-decider.js';
import { backendStreamId, type BackendState } from '../../domain/backends/backend-state.js';
import type { StreamRevision } from '../../domain/decider.js';
import type { JobKind } from '../../domain/events/job-events.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { decideJob } from '../../domain/jobs/job-decider.js';
import { initialJobState, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { backendHoldings, latestJobFor, loadJobRow, noRoomForCopies, type BackendHoldings, type JobRow } from '../../projections/read/job-reads.js';
import { handleCommand, type Decision, type OtherStreamAppend } from '../commands/handle-command.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { loadJob } from '../jobs/job-stream.js';
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
  /** Null while stalled: the drain runs but what is left fits on no other backend. */
  etaSeconds: number | null;
  /** The drain runs, but the copies left fit on no other active backend: it waits for room. */
  waitingForRoom: boolean;
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
    const jobId = newUlid(this.events.now().getTime());
    await this.handle(name, cause, (b, held) => ({
      events: decideBackend({ type: 'StartDrain', jobId }, b),
      others: [this.jobStart(jobId, 'drain', name, held)],
      value: undefined,
    }));
    this.kickJobs();
    return jobId;
  }

  /**
   * Ends the drain and its job together. The job's end is appended without expecting its
   * revision: its owner keeps appending moves, which do not change whether it runs, and a drain
   * ends otherwise only with BackendDrained on the backend's stream, whose revision this expects.
   */
  async cancelDrain(name: string, cause: Cause): Promise<string> {
    const handled = await handleCommand(this.store, this.events, {
      streamId: backendStreamId(name),
      load: () => this.loadWithDrainJob(name),
      decide: ({ backend, job }) => {
        const events = decideBackend({ type: 'CancelDrain' }, backend);
        const jobId = backend.drainJobId as string;
        // Without expecting the job's revision: its owner keeps appending moves, which do not
        // change whether it runs; a drain ends otherwise only on the backend's stream, expected here.
        const cancelled = decideJob({ type: 'Cancel' }, job ?? initialJobState(jobId));
        return { events, others: [{ streamId: jobStreamId(jobId), events: cancelled, expected: 'stream_exists' }], value: jobId };
      },
      cause,
    });
    return handled.value;
  }

  private async loadWithDrainJob(name: string): Promise<{ revision: StreamRevision; backend: BackendState; job: JobState | undefined }> {
    const backend = await loadBackend(this.store, name);
    const job = backend.drainJobId ? await loadJob(this.store, backend.drainJobId) : undefined;
    return { revision: backend.revision, backend, job };
  }

  async drainStatus(name: string): Promise<DrainStatus> {
    let b = await loadBackend(this.store, name);
    requireKnown(b);
    const job: JobRow | undefined = b.drainJobId ? await loadJobRow(this.db, b.drainJobId) : await latestJobFor(this.db, name, ['drain']);
    // A drain that ended between the two reads shows its job ended and the backend still draining; the
    // job's last append drained the backend in the same transaction, so the backend read again agrees.
    if (b.lifecycle === 'draining' && job && job.state !== 'running') b = await loadBackend(this.store, name);
    const held: BackendHoldings = await backendHoldings(this.db, name);
    const moved = (job?.moved ?? 0) + (job?.dropped ?? 0);
    const elapsed = job ? ((job.finishedAt ? Date.parse(job.finishedAt) : this.events.now().getTime()) - Date.parse(job.startedAt)) / 1000 : 0;
    const rate = elapsed > 0 ? moved / elapsed : 0;
    const active = job?.state === 'running';
    const waitingForRoom = active && held.objects > 0 && await noRoomForCopies(this.db, name);
    return {
      backend: name, state: b.lifecycle, active, jobId: job?.jobId ?? null,
      objectsRemaining: held.objects, bytesRemaining: held.bytes,
      objectsMoved: job?.moved ?? 0, bytesMoved: job?.movedBytes ?? 0, objectsDropped: job?.dropped ?? 0,
      skipped: job?.skipped ?? 0, failures: job?.failed ?? 0,
      pendingCleanup: held.pendingCleanup, exhaustedCleanup: held.exhaustedCleanup, uploads: held.uploads,
      startedAt: job?.startedAt ?? null, finishedAt: job?.finishedAt ?? null,
      objectsPerSecond: rate, etaSeconds: active && !waitingForRoom && rate > 0 ? held.objects / rate : null,
      waitingForRoom, lastError: job?.lastError ?? null,
    };
  }

  async reactivate(name: string, cause: Cause): Promise<void> {
    await handleCommand(this.store, this.events, {
      streamId: backendStreamId(name),
      load: () => loadBackend(this.store, name),
      decide: (b) => ({ events: decideBackend({ type: 'Reactivate' }, b), value: undefined }),
      cause,
    });
  }

  /** What a purge would delete: the tracked copies on the backend. */
  async purgePreview(name: string, secret: string): Promise<{ objectCount: number; totalBytes: number; confirmToken: string; expiresIn: number }> {
    requireKnown(await loadBackend(this.store, name));
    const held = await backendHoldings(this.db, name);
    return { objectCount: held.objects, totalBytes: held.bytes, confirmToken: purgeToken(name, this.events.now().getTime() + purgeTtlMs, secret), expiresIn: purgeTtlMs / 1000 };
  }

  /**
   * Removes a backend: it leaves the write path at once (BackendRemoved) and a job drops its
   * records (or, with purge, deletes its bytes too). A purge must be confirmed with a token from
   * `purgePreview` (checked here: the decider is told whether it holds).
   */
  async remove(name: string, opts: { purge: boolean; confirmToken?: string; secret: string }, cause: Cause): Promise<string> {
    const confirmed = !opts.purge || verifyPurgeToken(opts.confirmToken ?? '', name, this.events.now().getTime(), opts.secret);
    const jobId = newUlid(this.events.now().getTime());
    await this.handle(name, cause, (b, held) => ({
      events: decideBackend({ type: 'Remove', jobId, purge: opts.purge, confirmed }, b),
      others: [this.jobStart(jobId, opts.purge ? 'purge' : 'remove', name, held)],
      value: undefined,
    }));
    this.kickJobs();
    return jobId;
  }

  /** A command on the backend's stream, decided with what the backend holds now (the job's totals). */
  private async handle(name: string, cause: Cause, decide: (b: BackendState, held: BackendHoldings) => Decision<undefined>): Promise<void> {
    const held = await backendHoldings(this.db, name);
    await handleCommand(this.store, this.events, { streamId: backendStreamId(name), load: () => loadBackend(this.store, name), decide: (b) => decide(b, held), cause });
  }

  /** The new job's first event, on its own new stream. */
  private jobStart(jobId: string, kind: JobKind, backend: string, held: BackendHoldings): OtherStreamAppend {
    const start = { jobId, kind, backend, objectsTotal: held.objects, bytesTotal: held.bytes, params: {} };
    return { streamId: jobStreamId(jobId), events: decideJob({ type: 'Start', start }, initialJobState(jobId)), expected: 'no_stream' };
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
