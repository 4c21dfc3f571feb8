import { rankBackendsForWrite, type BackendCandidate, type RoutingStrategy } from '../../domain/placement/placement.js';
import type { BackendDirectory } from '../backends/backend-directory.js';

export interface WritePlacementSettings {
  strategy: () => RoutingStrategy;
  /** Other backends a failed write is retried on (`server.write_failover_attempts`); 2 when absent. */
  failoverAttempts?: () => number;
}

export const DEFAULT_WRITE_FAILOVER_ATTEMPTS = 2;

/**
 * Where new bytes go: every writer of bytes (a PUT, a multipart upload, a move, a replica) asks
 * here which backends could take them now, best first by the routing strategy, so they all
 * follow the same quota, state, breaker and usage-limit rules.
 */
export class WritePlacement {
  constructor(
    private readonly backends: BackendDirectory,
    private readonly settings: WritePlacementSettings,
  ) {}

  /** Backends that could take `size` bytes now, best first, without those in `exclude` (they hold a copy, or failed). */
  rank(size: number, exclude?: ReadonlySet<string>): BackendCandidate[] {
    return rankBackendsForWrite(this.settings.strategy(), this.backends.candidates(size), size, exclude);
  }

  /**
   * Backends for bytes of a size not known yet (a multipart upload: `size` is what must fit now),
   * most free bytes first whatever the routing strategy: pack's fullest backend with any room
   * would refuse the upload's next part.
   */
  rankByFreeSpace(size: number, exclude?: ReadonlySet<string>): BackendCandidate[] {
    return rankBackendsForWrite('free-space', this.backends.candidates(size), size, exclude);
  }

  /**
   * Where a drain sends a copy: the least utilised eligible backend whatever the routing strategy
   * (the manual's rule), counting bytes reserved for moves and uploads in flight there.
   */
  rankLeastUtilised(size: number, exclude?: ReadonlySet<string>): BackendCandidate[] {
    return rankBackendsForWrite('spread', this.backends.candidates(size), size, exclude);
  }

  /** Other backends a failed write may be retried on, beyond the first one(s) it was sent to. */
  failoverAttempts(): number {
    return Math.max(0, this.settings.failoverAttempts?.() ?? DEFAULT_WRITE_FAILOVER_ATTEMPTS);
  }
}
