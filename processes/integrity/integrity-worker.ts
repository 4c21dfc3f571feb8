import type pg from 'pg';
import type { EventStore } from '../../domain/eventstore/port.js';
import { newUlid } from '../../infra/ids.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { copiesToScrub, corruptCopies, type CopyRow } from '../../projections/read/integrity-reads.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import type { IntegrityService } from '../../services/integrity/integrity-service.js';
import { forEachConcurrently } from '../jobs/job-driver.js';
import type { HeldLease, Leases } from '../leases.js';
import { ChecksumBackfill, type BackfillReport } from './checksum-backfill.js';

export type Skipped = { status: 'skipped'; reason: string };
export type ScrubReport = {
  status: 'ok'; passId: string; checked: number; corrupt: number; repaired: number; unrepairable: number; skipped: number;
} | Skipped;

export interface IntegritySettings {
  enabled: boolean;
  batchSize: number;
}

const leaseName = 'worker:integrity';
const concurrency = 4;

/**
 * The scrubber and the checksum backfill (one instance at a time, by lease; one run at a time in
 * this instance). A scrub pass first repairs the copies already known corrupt, then reads a batch
 * of copies, those checked longest ago (or never) first, checks each against its version's
 * SHA-256 and records the finding (CopyVerified / CopyCorrupted); the copies found corrupt are
 * then repaired from healthy ones. The pass ends with ScrubPassCompleted on its own stream.
 */
export class IntegrityWorker {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly backfill: ChecksumBackfill;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: EventStore,
    private readonly events: EventFactory,
    private readonly leases: Leases,
    private readonly integrity: IntegrityService,
    private readonly settings: () => IntegritySettings,
    private readonly logger: Logger,
    private readonly onPass: (report: Exclude<ScrubReport, Skipped>) => void = () => undefined,
  ) {
    this.backfill = new ChecksumBackfill(pool, integrity, logger);
  }

  scrub(trigger: 'schedule' | 'admin', batchSize?: number, cause?: Cause): Promise<ScrubReport> {
    const s = this.settings();
    if (!s.enabled) return Promise.resolve({ status: 'skipped', reason: 'integrity verification is off (integrity.enabled is false)' });
    const passId = newUlid();
    const by: Cause = { actor: cause?.actor ?? 'system:scrubber', correlationId: cause?.correlationId ?? `scrub-${passId}` };
    return this.exclusive((held) => this.pass(held, passId, trigger, batchSize ?? s.batchSize, by));
  }

  backfillChecksums(batchSize?: number, cause?: Cause): Promise<BackfillReport | Skipped> {
    const s = this.settings();
    if (!s.enabled) return Promise.resolve({ status: 'skipped', reason: 'integrity verification is off (integrity.enabled is false)' });
    const by: Cause = { actor: cause?.actor ?? 'system:backfill', correlationId: cause?.correlationId ?? `backfill-${newUlid()}` };
    return this.exclusive((held) => this.backfill.run(held, batchSize ?? s.batchSize, by));
  }

  /** Runs `fn` after any run of this instance, holding the lease (renewed while it runs). */
  private exclusive<T>(fn: (held: HeldLease) => Promise<T>): Promise<T | Skipped> {
    const run = this.tail.then(async () => {
      const r = await this.leases.runExclusive(leaseName, fn);
      return r === undefined ? ({ status: 'skipped', reason: 'another instance is running the integrity worker now' } as Skipped) : r;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async pass(held: HeldLease, passId: string, trigger: 'schedule' | 'admin', batchSize: number, cause: Cause): Promise<ScrubReport> {
    const startedAt = this.events.now().toISOString();
    const r = { checked: 0, corrupt: 0, repaired: 0, unrepairable: 0, skipped: 0 };
    const repair = async (bucket: string, key: string, backend: string) => {
      const outcome = await this.integrity.repair(bucket, key, backend, 'scrub', cause);
      if (outcome.kind === 'repaired') r.repaired++;
      else if (outcome.kind === 'unrepairable') r.unrepairable++;
      else if (outcome.kind === 'failed') this.logger.warn({ bucket, key, backend, error: outcome.error }, 'repair failed; the next pass retries');
    };
    // Another instance took the lease over (this one stalled): it starts nothing more.
    await forEachConcurrently(await corruptCopies(this.pool, batchSize), concurrency, (c) => (held.lost ? Promise.resolve() : repair(c.bucket, c.key, c.backend)));
    const corrupt: CopyRow[] = [];
    await forEachConcurrently(await copiesToScrub(this.pool, batchSize), concurrency, async (c) => {
      if (held.lost) return;
      const state = await this.integrity.ledger.load(c.bucket, c.key);
      const copy = state.current?.copies.find((x) => x.backend === c.backend);
      if (!copy) {
        r.skipped++;
        return;
      }
      const found = await this.integrity.check(state, copy, 'scrub', cause);
      if (found.kind === 'unreadable' || !found.recorded) {
        r.skipped++;
        return;
      }
      r.checked++;
      if (found.kind === 'corrupt') {
        r.corrupt++;
        corrupt.push(c);
      }
    });
    // Repairs start once the whole batch is checked: a repair reads the other copies as sources
    // and records a corrupt one itself, so repairing at once would leave that copy uncounted here
    // (skipped as already recorded), depending on which check finished first.
    await forEachConcurrently(corrupt, concurrency, (c) => (held.lost ? Promise.resolve() : repair(c.bucket, c.key, c.backend)));
    await this.store.appendToStream(`scrub-${passId}`, [this.events.event('ScrubPassCompleted', { passId, trigger, startedAt, ...r }, cause)], { expected: 'no_stream' });
    const report = { status: 'ok' as const, passId, ...r };
    this.onPass(report);
    if (r.corrupt > 0 || r.unrepairable > 0) this.logger.warn(report, 'scrub pass found corrupt copies');
    else this.logger.info(report, 'scrub pass done');
    return report;
  }
}
