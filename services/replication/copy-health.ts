import type { StoredCopy } from '../../domain/events/common.js';
import { utilisation } from '../../domain/placement/placement.js';
import type { BackendDirectory } from '../backends/backend-directory.js';

/** Lifecycle states whose copies still serve reads and count toward the factor. */
const countingStates: ReadonlySet<string> = new Set(['active', 'draining']);

/**
 * Which copies count toward the replication factor, and which to give up first. A copy counts
 * when its backend is configured, active or draining (a drain moves or drops it itself), and
 * its circuit breaker has not been open for `unhealthy_threshold` or longer: copies on a
 * backend that has been down that long are replaced elsewhere, and count again once it is back.
 * The replicator and the over-replication cleanup use the same rule, so they never undo each
 * other's work.
 */
export class CopyHealth {
  constructor(
    private readonly backends: BackendDirectory,
    private readonly unhealthyAfterMs: () => number,
  ) {}

  counts(backend: string): boolean {
    const b = this.backends.get(backend);
    if (!b) return false;
    if (!countingStates.has(this.backends.state(backend)?.state ?? 'active')) return false;
    return b.breaker.current() === 'closed' || b.breaker.openForMs() < this.unhealthyAfterMs();
  }

  /** The configured backends whose copies count now. */
  countedBackends(): string[] {
    return this.backends.names().filter((n) => this.counts(n));
  }

  countedCopies(copies: readonly StoredCopy[]): StoredCopy[] {
    return copies.filter((c) => this.counts(c.backend));
  }

  /**
   * How much a copy is worth keeping (lower is given up first): a copy on a draining backend 0,
   * on a backend whose circuit breaker is not closed 1, otherwise 2 + the backend's free share
   * (so the copy on the most utilised backend goes first; unlimited backends count as empty).
   */
  keepScore(backend: string): number {
    const b = this.backends.get(backend);
    const snapshot = this.backends.state(backend);
    if (!b) return -1;
    if (snapshot?.state === 'draining') return 0;
    if (b.breaker.current() !== 'closed') return 1;
    if (!snapshot) return 2.5;
    const used = utilisation({
      name: backend, order: b.order, state: snapshot.state, circuitOpen: false, quotaBytes: b.settings.quotaBytes,
      usedBytes: snapshot.usedBytes, orphanBytes: snapshot.orphanBytes, pendingBytes: snapshot.pendingBytes, usageExceeded: false, maxObjectSize: 0,
    });
    return 2 + (1 - Math.min(1, used));
  }

  /** `count` copies to give up, lowest score first; on a tie, the later backend in configuration order. */
  chooseToDrop(copies: readonly StoredCopy[], count: number): StoredCopy[] {
    const order = (c: StoredCopy) => this.backends.get(c.backend)?.order ?? Number.MAX_SAFE_INTEGER;
    return [...copies]
      .sort((a, b) => this.keepScore(a.backend) - this.keepScore(b.backend) || order(b) - order(a))
      .slice(0, Math.max(0, count));
  }
}
