import type pg from 'pg';
import type { Logger } from '../../infra/telemetry/logger.js';
import { overReplicated, replicationBacklog, underReplicated, type ObjectKeyRow } from '../../projections/read/replication-reads.js';
import { workerPassCause } from '../../services/event-factory.js';
import type { CopyHealth } from '../../services/replication/copy-health.js';
import type { ExcessCopies } from '../../services/replication/excess-copies.js';
import type { Replicator } from '../../services/replication/replicator.js';
import { forEachConcurrently } from '../jobs/job-driver.js';
import { forEachPage } from '../keyset-pages.js';
import type { HeldLease, Leases } from '../leases.js';

export interface ReplicationSettings {
  factor: number;
  batchSize: number;
  concurrency: number;
}

export type Skipped = { status: 'skipped'; reason: string };
export type ReplicationReport = { status: 'ok'; copiesCreated: number; objectsShort: number } | Skipped;
export type OverReplicationReport = { status: 'ok'; copiesRemoved: number } | Skipped;

export interface ReplicationObserver {
  replicated?(report: { copiesCreated: number; errors: number; seconds: number }): void;
  trimmed?(report: { copiesRemoved: number; errors: number; seconds: number }): void;
}

const leaseName = 'worker:replication';

/**
 * The replication worker (one instance at a time, by lease; one pass at a time in this
 * instance): a replication pass brings every object to the factor, an over-replication pass
 * removes copies beyond it. Both scan the objects in key order in batches of `batchSize`, work
 * `concurrency` objects at a time, and share one lease so they never run against each other.
 */
export class ReplicationWorker {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly leases: Leases,
    private readonly replicator: Replicator,
    private readonly excess: ExcessCopies,
    private readonly health: CopyHealth,
    private readonly settings: () => ReplicationSettings,
    private readonly logger: Logger,
    private readonly observer: ReplicationObserver = {},
  ) {}

  /** The periodic tick: replicate, then remove excess copies (both only when factor > 1). */
  async tick(): Promise<void> {
    if (this.settings().factor <= 1) return;
    await this.replicate();
    await this.removeExcess();
  }

  /** Objects short of copies and objects with too many, as the workers count copies now. */
  async backlog(): Promise<{ factor: number; under: number; over: number }> {
    const factor = this.settings().factor;
    return { factor, ...(await replicationBacklog(this.pool, this.health.countedBackends(), factor)) };
  }

  replicate(): Promise<ReplicationReport> {
    if (this.settings().factor <= 1) return Promise.resolve({ status: 'skipped', reason: 'replication is off (replication.factor is 1)' });
    const cause = workerPassCause('replication');
    return this.exclusive(async (held, s) => {
      const started = Date.now();
      let copiesCreated = 0;
      let objectsShort = 0;
      let example: { bucket: string; key: string; error: string } | undefined;
      await this.scan(held, s, (after) => underReplicated(this.pool, { counted: this.health.countedBackends(), factor: s.factor, after, limit: s.batchSize }), async (o) => {
        let error: string | undefined;
        try {
          const r = await this.replicator.replicate(o.bucket, o.key, s.factor, cause);
          copiesCreated += r.created;
          error = r.error;
        } catch (err) {
          error = (err as Error).message;
        }
        if (error === undefined) return;
        objectsShort++;
        example ??= { bucket: o.bucket, key: o.key, error };
        this.logger.debug({ bucket: o.bucket, key: o.key, error }, 'object still short of copies');
      });
      this.observer.replicated?.({ copiesCreated, errors: objectsShort, seconds: (Date.now() - started) / 1000 });
      // One line per pass, not one per object: a lasting shortage (too few healthy backends) would flood the log.
      if (objectsShort > 0) this.logger.warn({ copiesCreated, objectsShort, example }, 'replication pass left objects short of copies');
      else if (copiesCreated > 0) this.logger.info({ copiesCreated }, 'replication pass finished');
      return { status: 'ok', copiesCreated, objectsShort };
    });
  }

  /** Removes copies beyond the factor (also with factor 1, when run on demand after lowering it). */
  removeExcess(): Promise<OverReplicationReport> {
    const cause = workerPassCause('over-replication');
    return this.exclusive(async (held, s) => {
      const started = Date.now();
      let copiesRemoved = 0;
      let errors = 0;
      await this.scan(held, s, (after) => overReplicated(this.pool, { counted: this.health.countedBackends(), factor: s.factor, after, limit: s.batchSize }), async (o) => {
        try {
          const removed = await this.excess.trim(o.bucket, o.key, s.factor, cause);
          copiesRemoved += removed;
        } catch (err) {
          errors++;
          this.logger.warn({ err, bucket: o.bucket, key: o.key }, 'removing excess copies failed');
        }
      });
      this.observer.trimmed?.({ copiesRemoved, errors, seconds: (Date.now() - started) / 1000 });
      if (copiesRemoved > 0) this.logger.info({ copiesRemoved }, 'over-replication pass finished');
      return { status: 'ok', copiesRemoved };
    });
  }

  /** Walks the objects a query finds, batch after batch, until a short batch or the lease is lost. */
  private async scan(
    held: HeldLease,
    s: ReplicationSettings,
    next: (after: ObjectKeyRow | undefined) => Promise<ObjectKeyRow[]>,
    work: (o: ObjectKeyRow) => Promise<void>,
  ): Promise<void> {
    const finished = await forEachPage(held, s.batchSize, next, (batch) => forEachConcurrently(batch, s.concurrency, async (o) => {
      if (!held.lost) await work(o);
    }));
    if (!finished) this.logger.warn('lost the replication lease; stopping this pass');
  }

  /**
   * One pass at a time here (a second waits), one instance at a time anywhere (the lease, kept
   * alive while the pass runs; once it is lost, the pass starts no further object). The pass
   * works with the settings as they are when it starts.
   */
  private exclusive<T extends { status: 'ok' }>(pass: (held: HeldLease, settings: ReplicationSettings) => Promise<T>): Promise<T | Skipped> {
    const run = this.tail.then(async (): Promise<T | Skipped> =>
      (await this.leases.runExclusive(leaseName, (held) => pass(held, this.settings())))
        ?? { status: 'skipped', reason: 'another instance is running replication' });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
