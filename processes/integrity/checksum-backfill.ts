import type pg from 'pg';
import type { StoredCopy } from '../../domain/events/common.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { ObjectCommand } from '../../domain/objects/object-decider.js';
import type { ObjectState } from '../../domain/objects/object-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import { objectsWithoutHash } from '../../projections/read/integrity-reads.js';
import type { Cause } from '../../services/event-factory.js';
import { DigestComputer, type ComputedDigests } from '../../services/integrity/content-hash.js';
import type { IntegrityService } from '../../services/integrity/integrity-service.js';
import type { HeldLease } from '../leases.js';

export interface BackfillReport {
  status: 'ok';
  /** Versions whose SHA-256 is now recorded. */
  processed: number;
  /** Versions none of whose copies could be read now (retried by the next run). */
  failed: number;
  /** Versions whose copies hash differently: reported, nothing recorded (a scrub cannot tell which is right). */
  conflicts: number;
}

/**
 * Records the SHA-256 of versions written before integrity was on: every copy not known corrupt
 * is read and hashed (per part for multipart versions); when all readable copies agree, one
 * append records ChecksumBackfilled and a CopyVerified for each of them (the object decider's
 * BackfillChecksum and RecordCheck, decided in turn), conditional on the object's revision (an
 * overwrite meanwhile brings its own hash). Pages through the objects in key order,
 * `batchSize` at a time, until none is left.
 */
export class ChecksumBackfill {
  constructor(
    private readonly pool: pg.Pool,
    private readonly integrity: IntegrityService,
    private readonly logger: Logger,
  ) {}

  async run(held: HeldLease, batchSize: number, cause: Cause): Promise<BackfillReport> {
    const report: BackfillReport = { status: 'ok', processed: 0, failed: 0, conflicts: 0 };
    let after: { bucket: string; key: string } | undefined;
    for (;;) {
      const page = held.lost ? [] : await objectsWithoutHash(this.pool, after, batchSize);
      if (page.length === 0) break;
      after = page[page.length - 1];
      for (const o of page) {
        const outcome = await this.one(await this.integrity.ledger.load(o.bucket, o.key), cause);
        if (outcome !== 'moot') report[outcome]++;
      }
    }
    this.logger.info(report, 'checksum backfill done');
    return report;
  }

  private async one(state: ObjectState, cause: Cause): Promise<'processed' | 'failed' | 'conflicts' | 'moot'> {
    const v = state.current;
    if (!v || v.contentSha256 !== null) return 'moot';
    const hashed: { copy: StoredCopy; digests: ComputedDigests }[] = [];
    for (const copy of v.copies.filter((c) => !(v.corrupt ?? []).includes(c.backend))) {
      try {
        const computer = new DigestComputer(v);
        if (v.size > 0) for await (const chunk of await this.integrity.readCopy(v, copy)) computer.update(chunk as Buffer);
        const digests = computer.finish();
        if (digests) hashed.push({ copy, digests });
      } catch (err) {
        this.logger.warn({ err, bucket: state.bucket, key: state.key, backend: copy.backend }, 'backfill could not read a copy');
      }
    }
    const first = hashed[0];
    if (!first) return 'failed';
    if (hashed.some((h) => h.digests.contentSha256 !== first.digests.contentSha256)) {
      this.logger.error({
        bucket: state.bucket, key: state.key, writeId: v.writeId,
        copies: hashed.map((h) => ({ backend: h.copy.backend, sha256: h.digests.contentSha256 })),
      }, 'the copies of an object written before integrity was on differ: no SHA-256 recorded, check them by hand');
      return 'conflicts';
    }
    // No retry: an overwrite meanwhile brings its own hash, and any other change is left to the next run.
    const appended = await this.integrity.ledger.change(state, [
      { type: 'BackfillChecksum', writeId: v.writeId, ...first.digests },
      ...hashed.map((h): ObjectCommand => ({ type: 'RecordCheck', writeId: v.writeId, copy: { backend: h.copy.backend, storageKey: h.copy.storageKey }, component: 'backfill' })),
    ], cause, 1).catch((err: unknown) => {
      if (err instanceof ConcurrencyError) return [];
      throw err;
    });
    return appended.length > 0 ? 'processed' : 'moot';
  }
}
