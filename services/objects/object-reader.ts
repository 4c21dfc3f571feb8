import { DomainError, isDomainError } from '../../domain/errors.js';
import type { StoredCopy } from '../../domain/events/common.js';
import { storedSizeOf, type ObjectVersion } from '../../domain/objects/object-state.js';
import { BackendNotFoundError, type ByteRange, type GetObjectResult, type ReadSignal } from '../../infra/backend/index.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';

/** `open` found no copy at all: the version may have been replaced and its bytes reclaimed since it was looked up. */
export const copiesMissing = (err: unknown): boolean => isDomainError(err) && err.details?.copiesMissing === true;

export interface OpenedCopy {
  copy: StoredCopy;
  result: GetObjectResult;
}

/**
 * Opens a readable copy of an object version: healthy backends first (configuration order),
 * skipping backends over their monthly egress/request limits; a copy that fails before any
 * byte was sent is passed over for the next one.
 */
export class ObjectReader {
  constructor(
    private readonly backends: BackendDirectory,
    private readonly logger: Logger,
  ) {}

  /** Healthy backends first, in configuration order; copies known corrupt (`corrupt` backends) last of all. */
  orderCopies(copies: readonly StoredCopy[], corrupt: readonly string[] = []): StoredCopy[] {
    const order = (c: StoredCopy) => {
      const b = this.backends.get(c.backend);
      if (!b) return Number.MAX_SAFE_INTEGER;
      return (corrupt.includes(c.backend) ? 2_000_000 : 0) + (b.breaker.isAvailable() ? 0 : 1_000_000) + b.order;
    };
    return [...copies].sort((a, b) => order(a) - order(b));
  }

  /**
   * `range` is of the stored bytes. `skip`: backends whose copy must not be read (found bad by the
   * caller); when every other copy fails too, the error is the caller's to give. `wholeUpTo`: a
   * whole read of at most this many bytes comes received whole (`result.bytes`).
   */
  async open(version: ObjectVersion, range: ByteRange | undefined, signal?: ReadSignal, skip?: ReadonlySet<string>, wholeUpTo?: number): Promise<OpenedCopy> {
    const bytes = range ? range.end - range.start + 1 : storedSizeOf(version);
    let overLimit = 0;
    let missing = 0;
    let lastError: unknown;
    for (const copy of this.orderCopies(version.copies, version.corrupt)) {
      if (skip?.has(copy.backend)) continue;
      const backend = this.backends.get(copy.backend);
      if (!backend) continue;
      if (!this.backends.canRead(copy.backend, bytes)) {
        overLimit++;
        continue;
      }
      try {
        const result = await backend.client.getObject(copy.storageKey, range ? { range, signal } : { signal, wholeUpTo });
        // A whole answer of another length than the copy holds is not the copy (a backend that
        // answered before its write landed): its bytes, held or streamed, would go out short. An
        // encrypted copy is left to its authentication, which finds a short one and records it as bad.
        if (!range && !version.encryption && result.headers['content-length'] !== undefined && result.contentLength !== bytes) {
          if (result.bytes === undefined) result.body.destroy();
          throw new Error(`${copy.backend} answered ${result.contentLength} bytes for a copy of ${bytes}`);
        }
        return { copy, result };
      } catch (err) {
        lastError = err;
        if (err instanceof BackendNotFoundError) missing++;
        // A missing copy is normal when the version was just replaced (its bytes reclaimed): the caller re-checks.
        const level = err instanceof BackendNotFoundError ? 'info' : 'warn';
        this.logger[level]({ err, backend: copy.backend, storageKey: copy.storageKey }, 'copy unreadable; trying the next one');
      }
    }
    if (overLimit > 0 && lastError === undefined) throw new DomainError('UsageLimitExceeded');
    throw new DomainError('ServiceUnavailable', 'No copy of the object could be read; please retry.', {
      copiesMissing: missing > 0 && missing === version.copies.length,
    });
  }
}
