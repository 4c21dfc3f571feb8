import type pg from 'pg';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { EventFactory } from '../../services/event-factory.js';
import { acquireExclusive, type ExclusiveLease, type Leases } from '../leases.js';
import { Periodic } from '../periodic.js';
import type { WorkerBoard } from '../worker-board.js';
import { openJob, type JobDriver } from './job-driver.js';

/**
 * Finds running jobs (jobs projection) and runs each one this instance can lease: a job runs
 * in exactly one instance; the others see its progress in the projection. The lease is a
 * session advisory lock, so a job whose instance died is picked up by the next scan anywhere.
 */
export class JobSupervisor {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void>; lease: ExclusiveLease }>();
  private readonly periodic: Periodic;
  private stopping = false;
  private board: WorkerBoard | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly leases: Leases,
    private readonly drivers: readonly JobDriver[],
    private readonly logger: Logger,
    scanIntervalMs = 2000,
  ) {
    this.periodic = new Periodic('job-supervisor', () => scanIntervalMs, () => this.scan(), logger, { runAtStart: true });
  }

  /** Records the scans and every job run (as `job:<kind>`) on `board`. */
  reportTo(board: WorkerBoard): void {
    this.board = board;
    this.periodic.reportTo(board);
    for (const d of this.drivers) board.register(`job:${d.kind}`);
  }

  start(): void {
    this.periodic.start();
  }

  kick(): void {
    this.periodic.kick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.periodic.stop();
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Jobs this instance is running now. */
  localJobs(): string[] {
    return [...this.running.keys()];
  }

  private async scan(): Promise<void> {
    const res = await this.pool.query<{ job_id: string; kind: string }>("SELECT job_id, kind FROM jobs WHERE state = 'running' ORDER BY started_at");
    for (const { job_id: jobId, kind } of res.rows) {
      if (this.stopping || this.running.has(jobId)) continue;
      const driver = this.drivers.find((d) => d.kind === kind);
      if (!driver) continue;
      const lease = await acquireExclusive(this.pool, this.leases, `job:${jobId}`);
      if (!lease) continue;
      const abort = new AbortController();
      void lease.lost.then(() => {
        if (!abort.signal.aborted) this.logger.warn({ jobId }, 'lost the connection holding a job lease; stopping the job here');
        abort.abort();
      });
      this.logger.info({ jobId, kind, token: lease.token }, 'running job');
      const worker = `job:${kind}`;
      this.board?.started(worker);
      const done = this.run(driver, jobId, abort.signal).then(() => this.board?.succeeded(worker), (err: unknown) => {
        if (abort.signal.aborted) {
          this.board?.interrupted(worker);
          return;
        }
        this.board?.failed(worker, err);
        this.logger.error({ err, jobId, kind }, 'job stopped with an error; it will be resumed');
      }).finally(async () => {
        this.running.delete(jobId);
        await lease.release();
      });
      this.running.set(jobId, { abort, done, lease });
    }
  }

  /** Resumes the job from its stream (it may have ended since the projection was read). */
  private async run(driver: JobDriver, jobId: string, signal: AbortSignal): Promise<void> {
    const job = await openJob(this.store, this.events, jobId);
    if (job) await driver.run(job, signal);
  }
}
