import { newUlid } from '../../infra/ids.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectState, ObjectVersion } from '../../domain/objects/object-state.js';
import { placementStorageKey } from '../../domain/objects/storage-keys.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Reclaimer } from '../cleanup/reclaimer.js';
import type { Cause } from '../event-factory.js';
import { cleanupIds } from '../objects/object-commands.js';
import type { ObjectReader } from '../objects/object-reader.js';
import type { PlaintextReader } from '../objects/plaintext-reader.js';
import type { WritePlacement } from '../placement/write-placement.js';
import { PassThrough, type Transform } from 'node:stream';
import type { HashMismatch } from './content-hash.js';
import { checkCopy, VerifyingStream, type CopyCheck } from './copy-check.js';
import type { IntegrityComponent } from '../../domain/events/integrity-events.js';
import type { IntegrityLedger } from './integrity-ledger.js';

/** Counts the sources a repair verified while copying (the s3o_integrity_* metrics). */
export interface SourceCheckObserver {
  checked(component: IntegrityComponent): void;
  corrupt(component: IntegrityComponent): void;
}

export type RepairOutcome =
  | { kind: 'repaired'; to: StoredCopy; source: string }
  /** The copy is no longer corrupt or no longer current (repaired, replaced or moved meanwhile). */
  | { kind: 'moot' }
  /** Every other copy is corrupt too, or none exists: reported, nothing deleted. */
  | { kind: 'unrepairable'; reason: string }
  /** A healthy copy exists but could not be copied now (a backend failed): the next pass retries. */
  | { kind: 'failed'; error: string };

/**
 * Replaces a corrupt copy from a healthy one: the healthy bytes are streamed to a fresh storage
 * key (on the corrupt copy's backend, or another one when that cannot take them) while they are
 * hashed against the recorded SHA-256, and the object decider's RepairCopy (CopyRepaired) swaps the
 * copies (compare-and-swap on the object's revision); the corrupt bytes then go to cleanup. A corrupt copy is never just
 * deleted: without a healthy source it stays, reported as unrepairable. A source that turns out
 * corrupt while being copied is recorded (and counted) as such, under the component that asked
 * for the repair, and the next one is tried.
 */
export class CopyRepairer {
  constructor(
    private readonly ledger: IntegrityLedger,
    private readonly backends: BackendDirectory,
    private readonly reader: ObjectReader,
    private readonly plain: Pick<PlaintextReader, 'open'>,
    private readonly placement: WritePlacement,
    private readonly orphans: OrphanRecorder,
    private readonly reclaimer: Reclaimer,
    private readonly observer: SourceCheckObserver,
    private readonly logger: Logger,
  ) {}

  /** Repairs the corrupt copy on `backend`; `component` (the scrubber, a read…) asked for it. */
  async repair(bucket: string, key: string, backend: string, component: IntegrityComponent, cause: Cause): Promise<RepairOutcome> {
    const state = await this.ledger.load(bucket, key);
    const v = state.current;
    const corrupt = v?.copies.find((c) => c.backend === backend);
    if (!v || !corrupt || !(v.corrupt ?? []).includes(backend)) return { kind: 'moot' };
    const sources = this.reader.orderCopies(v.copies.filter((c) => c.backend !== backend && !(v.corrupt ?? []).includes(c.backend)));
    if (sources.length === 0) {
      this.logger.error({ bucket, key, writeId: v.writeId, backend }, 'corrupt copy has no healthy copy to be repaired from: reported, not deleted');
      return { kind: 'unrepairable', reason: 'no healthy copy left' };
    }
    let lastError = 'no source could be read';
    let healthySeen = false;
    for (const source of sources) {
      const target = this.targetFor(bucket, key, v, corrupt);
      if (!target) return { kind: 'failed', error: 'no backend can take the repaired copy' };
      const copied = await this.copyVerified(state, v, source, target, component, cause);
      if (copied === 'source-corrupt') continue;
      healthySeen = true;
      if (copied !== 'ok') {
        lastError = copied.error;
        continue;
      }
      const recorded = await this.ledger.change(state, { type: 'RepairCopy', writeId: v.writeId, from: corrupt, to: target, source: source.backend, ids: cleanupIds }, cause);
      const from = recorded.flatMap((e) => (e.type === 'CopyRepaired' ? [e.data.from] : []))[0];
      if (!from) {
        await this.orphans.record(target.backend, target.storageKey, 0, 'repair_superseded', cause);
        return { kind: 'moot' };
      }
      this.backends.noteUsage(target.backend, { used: target.size, count: 1 });
      this.backends.noteUsage(corrupt.backend, { used: -corrupt.size, orphan: corrupt.size, count: -1 });
      this.reclaimer.reclaimSoon([from], cause);
      this.logger.info({ bucket, key, backend, source: source.backend, to: target.backend }, 'corrupt copy repaired');
      return { kind: 'repaired', to: target, source: source.backend };
    }
    if (!healthySeen) {
      this.logger.error({ bucket, key, writeId: v.writeId, backend }, 'every copy of the object is corrupt: reported, not deleted');
      return { kind: 'unrepairable', reason: 'every other copy is corrupt too' };
    }
    return { kind: 'failed', error: lastError };
  }

  /** The corrupt copy's backend when it can still be read and written; otherwise the best other one. */
  private targetFor(bucket: string, key: string, v: ObjectVersion, corrupt: StoredCopy): StoredCopy | undefined {
    const own = this.backends.get(corrupt.backend);
    const usable = own !== undefined && own.breaker.isAvailable() && this.backends.state(corrupt.backend)?.state === 'active';
    const holders = new Set(v.copies.map((c) => c.backend).filter((b) => b !== corrupt.backend));
    const backend = usable ? corrupt.backend : this.placement.rank(corrupt.size, new Set([...holders, corrupt.backend]))[0]?.name;
    if (!backend) return undefined;
    // A plain ULID: a key reconcile recognises as ours, within the suffix every key of the version has room for.
    return { backend, storageKey: placementStorageKey(bucket, key, v.writeId, newUlid()), size: corrupt.size };
  }

  private async copyVerified(
    state: ObjectState, v: ObjectVersion, source: StoredCopy, target: StoredCopy, component: IntegrityComponent, cause: Cause,
  ): Promise<'ok' | 'source-corrupt' | { error: string }> {
    const client = this.backends.get(source.backend)?.client;
    const targetClient = this.backends.get(target.backend)?.client;
    if (!client || !targetClient) return { error: 'backend not configured' };
    // Ciphertext is copied as it is and read back decrypted: a source whose chunks do not
    // authenticate (or whose plaintext misses the recorded hash) must not replace the corrupt copy.
    const verifying: Transform & { mismatch?: HashMismatch | undefined } = v.encryption ? new PassThrough() : new VerifyingStream(v);
    try {
      if (v.size === 0) verifying.end();
      else (await client.getObject(source.storageKey)).body.on('error', (err) => verifying.destroy(err)).pipe(verifying);
      await targetClient.putObject(target.storageKey, verifying, { contentLength: source.size, contentType: v.contentType });
    } catch (err) {
      await this.orphans.record(target.backend, target.storageKey, 0, 'repair_failed', cause);
      if (verifying.mismatch) return this.sourceCorrupt(state, source, component, { kind: 'corrupt', reason: 'checksum-mismatch', mismatch: verifying.mismatch }, cause);
      return { error: (err as Error).message };
    }
    if (v.encryption) {
      const check = await checkCopy(this.backends, this.plain, { ...v, copies: [target] }, target);
      if (check.kind !== 'intact') await this.orphans.record(target.backend, target.storageKey, 0, 'repair_failed', cause);
      if (check.kind === 'unreadable') return { error: `the repaired copy on ${target.backend} could not be read back to verify it: ${check.error}` };
      if (check.kind === 'corrupt') return this.sourceCorrupt(state, source, component, check, cause);
    }
    this.observer.checked(component);
    return 'ok';
  }

  private async sourceCorrupt(
    state: ObjectState, source: StoredCopy, component: IntegrityComponent, check: Extract<CopyCheck, { kind: 'corrupt' }>, cause: Cause,
  ): Promise<'source-corrupt'> {
    this.observer.checked(component);
    this.observer.corrupt(component);
    this.logger.error({ bucket: state.bucket, key: state.key, backend: source.backend, component, reason: check.reason, ...check.mismatch }, 'corrupt copy found (the source of a repair)');
    await this.ledger.record(state, source, component, check, cause);
    return 'source-corrupt';
  }
}
