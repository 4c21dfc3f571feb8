import type { IntegrityComponent } from '../../domain/events/integrity-events.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { Readable } from 'node:stream';
import type { ObjectState, ObjectVersion } from '../../domain/objects/object-state.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { Cause } from '../event-factory.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import { checkCopy, firstExpected, type CopyCheck } from './copy-check.js';
import type { CopyRepairer, RepairOutcome } from './copy-repairer.js';
import type { IntegrityLedger } from './integrity-ledger.js';

/** Counts for the s3o_integrity_* metrics. */
export interface IntegrityObserver {
  checked(component: IntegrityComponent): void;
  corrupt(component: IntegrityComponent): void;
  repaired(): void;
}

/**
 * Checks copies, records what the checks find, and repairs corrupt copies. A repair asked for
 * while one of the same copy runs here joins it; a repair that cannot run now is not lost: the
 * copy stays recorded corrupt, and the scrubber's next pass repairs every such copy first.
 */
export class IntegrityService {
  readonly #repairs = new Map<string, Promise<RepairOutcome>>();

  constructor(
    readonly ledger: IntegrityLedger,
    private readonly repairer: CopyRepairer,
    private readonly backends: BackendDirectory,
    private readonly plain: Pick<PlaintextReader, 'open'>,
    private readonly observer: IntegrityObserver,
    private readonly logger: Logger,
  ) {}

  /** The client's bytes of one copy (decrypted when the version is encrypted): what the backfill hashes. */
  async readCopy(version: ObjectVersion, copy: StoredCopy): Promise<Readable> {
    if (!version.encryption) {
      const client = this.backends.get(copy.backend)?.client;
      if (!client) throw new Error(`backend ${copy.backend} is not configured`);
      return (await client.getObject(copy.storageKey)).body;
    }
    const others = new Set(version.copies.map((c) => c.backend).filter((b) => b !== copy.backend));
    return (await this.plain.open(version, undefined, undefined, others)).body;
  }

  /** Reads a copy in full, checks it, and records the finding (not for unreadable copies). */
  async check(state: ObjectState, copy: StoredCopy, component: IntegrityComponent, cause: Cause): Promise<CopyCheck & { recorded: boolean }> {
    if (!state.current) return { kind: 'unreadable', error: 'the object is gone', recorded: false };
    const result = await checkCopy(this.backends, this.plain, state.current, copy);
    if (result.kind === 'unreadable') return { ...result, recorded: false };
    this.observer.checked(component);
    if (result.kind === 'corrupt') this.observer.corrupt(component);
    const recorded = await this.ledger.record(state, copy, component, result, cause);
    return { ...result, recorded };
  }

  /** Records a corruption a reader of version `writeId` found, and repairs it in the background. */
  reportCorrupt(bucket: string, key: string, writeId: string, copy: StoredCopy, component: IntegrityComponent, check: Extract<CopyCheck, { kind: 'corrupt' }>, cause: Cause): void {
    this.observer.checked(component);
    this.observer.corrupt(component);
    this.logger.error({ bucket, key, backend: copy.backend, component, ...check.mismatch }, 'corrupt copy found');
    void (async () => {
      const state = await this.ledger.load(bucket, key);
      if (state.current?.writeId !== writeId) return;
      if (await this.ledger.record(state, copy, component, check, cause)) await this.repair(bucket, key, copy.backend, component, cause);
    })().catch((err: unknown) => this.logger.warn({ err, bucket, key, backend: copy.backend }, 'recording or repairing a corrupt copy failed; the scrubber will retry'));
  }

  /**
   * A copy whose ciphertext a reader found failing authentication: recorded as CopyCorrupted
   * (reason `ciphertext-authentication`) and repaired from a healthy copy, in the background.
   */
  reportUndecryptable(version: ObjectVersion, copy: StoredCopy, cause: Cause): void {
    void (async () => {
      const owner = await this.ledger.locate(version.writeId, copy);
      if (!owner) return;
      const mismatch = { expectedSha256: firstExpected(version), actualSha256: null };
      this.reportCorrupt(owner.bucket, owner.key, version.writeId, copy, 'read', { kind: 'corrupt', reason: 'ciphertext-authentication', mismatch }, cause);
    })().catch((err: unknown) => this.logger.warn({ err, backend: copy.backend, storageKey: copy.storageKey }, 'recording a copy that failed decryption failed; the scrubber will find it'));
  }

  /** An intact full read by a client: counted, not recorded (reads would otherwise each append). */
  noteIntactRead(): void {
    this.observer.checked('read');
  }

  /** Bytes a component checked in passing and found intact (a verified replica's): counted, not recorded. */
  noteIntact(component: IntegrityComponent): void {
    this.observer.checked(component);
  }

  /** Repairs the corrupt copy on `backend`, for `component` (what found it or asks now). */
  repair(bucket: string, key: string, backend: string, component: IntegrityComponent, cause: Cause): Promise<RepairOutcome> {
    const id = `${bucket}\u0000${key}\u0000${backend}`;
    const running = this.#repairs.get(id);
    if (running) return running;
    const run = this.repairer.repair(bucket, key, backend, component, cause)
      .then((outcome) => {
        if (outcome.kind === 'repaired') this.observer.repaired();
        return outcome;
      })
      .finally(() => this.#repairs.delete(id));
    this.#repairs.set(id, run);
    return run;
  }

  /** Resolves when every repair started here has ended (shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#repairs.values()]);
  }
}
