/**
 * Reads the client's bytes of a version: stored bytes as they are for plaintext, and for an
 * encrypted version only the chunks a range covers (backend range from the chunk layout), or
 * the whole stored object for a whole read, decrypted as they stream. A copy whose first planned chunk fails authentication is reported
 * and the next copy is tried, so no byte of a bad copy is ever sent; damage found later in the
 * stream ends the response with an error instead of sending unauthenticated bytes.
 */
import type { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import { plannedStoredBytes, planRange, planWholeObject, type ReadPlan } from '../../domain/encryption/read-plan.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import type { ReadSignal } from '../../infra/backend/index.js';
import { createRangeDecryptStream, decryptPlanned, type DataKey } from '../../infra/crypto/index.js';
import { heldBytesStream } from '../../infra/held-bytes-stream.js';
import { relay } from '../../infra/stream-relay.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { ObjectReader } from './object-reader.js';
import { isBadCopy } from '../encryption/crypto-failures.js';
import type { ObjectEncryption } from '../encryption/object-encryption.js';

export interface PlainRead {
  readonly copy: StoredCopy;
  /** The client's bytes of the range (all of them without one). */
  readonly body: Readable;
  /** The same bytes held whole (a small encrypted read decrypted at once, a small plaintext one received whole): cheaper to send than `body`. */
  readonly bytes?: Buffer;
}

/** Told of each copy found damaged: the version, the copy and what was wrong. */
export type BadCopyReporter = (version: ObjectVersion, copy: StoredCopy, err: Error) => void;

/**
 * Reads fetching at most this many stored bytes are fetched whole and decrypted in one call
 * (no stream per chunk); memory per read stays bounded by it as by a chunk on the streamed path.
 */
const WHOLE_READ_BYTES = 256 * 1024;

/** A version's envelope is immutable and the state cache hands the same object to every read of it: its whole-read plan is made once. */
const wholePlans = new WeakMap<EncryptionEnvelope, ReadPlan | undefined>();
function wholePlanOf(envelope: EncryptionEnvelope): ReadPlan | undefined {
  if (wholePlans.has(envelope)) return wholePlans.get(envelope);
  const plan = planWholeObject(envelope);
  wholePlans.set(envelope, plan);
  return plan;
}

/** Plaintext held whole: its stream is made only for a caller that asks for one (most send `bytes`). */
class HeldRead implements PlainRead {
  #body: Readable | undefined;

  constructor(readonly copy: StoredCopy, readonly bytes: Buffer) {}

  get body(): Readable {
    this.#body ??= heldBytesStream(this.bytes);
    return this.#body;
  }
}

/** Every byte of a (small) backend response; listeners rather than an async iterator, which costs more per read. */
function fetchAll(stored: Readable): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const fetched: Buffer[] = [];
    stored.on('data', (bytes: Buffer) => fetched.push(bytes));
    stored.once('end', () => resolve(fetched));
    stored.once('error', reject);
    stored.once('close', () => {
      if (!stored.readableEnded) reject(stored.errored ?? new Error('the backend response closed before it ended'));
    });
  });
}

export class PlaintextReader {
  constructor(
    private readonly reader: ObjectReader,
    private readonly encryption: ObjectEncryption | undefined,
    private readonly reportBadCopy: BadCopyReporter,
    private readonly logger: Logger,
  ) {}

  /**
   * `range` is of the client's bytes, inclusive; the version must not be empty. `skip`: backends
   * whose copy must not be read (found corrupt by the caller, or all but the one to check).
   * `wholeUpTo`: a whole plaintext read of at most this many bytes comes held whole (`bytes`).
   */
  async open(
    version: ObjectVersion, range: { start: number; end: number } | undefined, signal?: ReadSignal, skip?: ReadonlySet<string>, wholeUpTo?: number,
  ): Promise<PlainRead> {
    const envelope = version.encryption;
    if (!envelope) {
      const { copy, result } = await this.reader.open(version, range, signal, skip, wholeUpTo);
      return result.bytes === undefined ? { copy, body: result.body } : new HeldRead(copy, result.bytes);
    }
    if (!this.encryption) throw new DomainError('EncryptionNotConfigured');
    // A whole read fetches the whole stored object without a Range, header included, as a plaintext read does.
    const plan = range ? planRange(envelope, range.start, range.end) : wholePlanOf(envelope);
    if (!plan) throw new RangeError('an empty object has nothing to read');
    const backendRange = range ? plan.backendRange : undefined;
    const small = plannedStoredBytes(plan) <= WHOLE_READ_BYTES;
    // A small whole read comes received whole from the backend, as a small plaintext one: no stream in between.
    const fetchWhole = !range && small ? WHOLE_READ_BYTES : undefined;
    const dataKey = this.encryption.openedKeyFor(envelope) ?? await this.encryption.dataKeyFor(envelope);
    // Made when a copy first fails decryption: most reads pass the caller's `skip` on as it is.
    let bad: Set<string> | undefined;
    for (;;) {
      let opened;
      try {
        opened = await this.reader.open(version, backendRange, signal, bad ?? skip, fetchWhole);
      } catch (err) {
        if (bad) throw new DomainError('CiphertextDamaged', `No copy of the object passed decryption (${bad.size} damaged).`);
        throw err;
      }
      try {
        const { copy, result } = opened;
        if (!small) return await this.decrypting(version, copy, result.body, plan, envelope, dataKey);
        // Held bytes are decrypted in this turn; only a body that did not come whole is awaited.
        return this.decryptWhole(version, copy, result.bytes ? [result.bytes] : await fetchAll(result.body), plan, envelope, dataKey);
      } catch (err) {
        if (!isBadCopy(err)) throw err;
        bad ??= new Set(skip);
        bad.add(opened.copy.backend);
        this.logger.warn({ backend: opened.copy.backend, storageKey: opened.copy.storageKey, err }, 'copy failed decryption; trying the next one');
      }
    }
  }

  /** A small read's stored bytes, all fetched, decrypted at once (all of them authenticated before any is returned). */
  private decryptWhole(
    version: ObjectVersion, copy: StoredCopy, fetched: readonly Buffer[], plan: ReadPlan, envelope: EncryptionEnvelope, dataKey: DataKey,
  ): PlainRead {
    try {
      const pieces = decryptPlanned(plan, envelope, dataKey, fetched);
      const bytes = pieces.length === 1 ? pieces[0] as Buffer : Buffer.concat(pieces, plan.length);
      this.encryption?.counted('decrypt');
      return new HeldRead(copy, bytes);
    } catch (err) {
      if (isBadCopy(err)) this.badCopy(version, copy, err);
      throw err;
    }
  }

  private async decrypting(
    version: ObjectVersion, copy: StoredCopy, stored: Readable, plan: ReadPlan, envelope: EncryptionEnvelope, dataKey: DataKey,
  ): Promise<PlainRead> {
    // The stream itself is the body once its first chunk has authenticated; damage found later
    // errors it, which ends the response instead of sending unauthenticated bytes.
    const decrypt = relay(stored, createRangeDecryptStream(plan, envelope, dataKey));
    decrypt.once('error', (err: unknown) => {
      if (isBadCopy(err)) this.badCopy(version, copy, err);
    });
    try {
      await decrypt.started;
    } catch (err) {
      stored.destroy();
      throw err;
    }
    this.encryption?.counted('decrypt');
    return { copy, body: decrypt };
  }

  private badCopy(version: ObjectVersion, copy: StoredCopy, err: Error & { problem?: string }): void {
    this.encryption?.metrics?.errors.inc({ problem: err.problem ?? 'header' });
    this.reportBadCopy(version, copy, err);
  }
}

