export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  enabled: boolean;
  failureThreshold: number;
  openTimeoutMs: number;
}

/**
 * A circuit breaker (per backend, and for the database). Consecutive failures open it; after the open timeout (with
 * jitter, so instances do not probe in lockstep) one call is let through as a probe: success
 * closes it, failure re-opens it. A 404 is an answer, not a failure, and never counts.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private retryAt = 0;
  private probeInFlight = false;

  constructor(
    private settings: BreakerSettings,
    private readonly clock: () => number = Date.now,
    private readonly random: () => number = Math.random,
    private readonly onTransition?: (from: BreakerState, to: BreakerState) => void,
  ) {}

  update(settings: BreakerSettings): void {
    this.settings = settings;
    if (!settings.enabled) this.transition('closed');
  }

  current(): BreakerState {
    if (this.state === 'open' && this.clock() >= this.retryAt) return 'half-open';
    return this.state;
  }

  /** Milliseconds the breaker has been open (0 when closed). */
  openForMs(): number {
    return this.state === 'closed' ? 0 : this.clock() - this.openedAt;
  }

  /** Whether a call may go to the backend now; in half-open, only one probe at a time. */
  allow(): boolean {
    if (!this.settings.enabled) return true;
    const s = this.current();
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.probeInFlight) {
      this.probeInFlight = true;
      this.transition('half-open');
      return true;
    }
    return false;
  }

  /** Whether the backend should be offered new work (no probe is consumed). */
  isAvailable(): boolean {
    if (!this.settings.enabled) return true;
    const s = this.current();
    return s === 'closed' || (s === 'half-open' && !this.probeInFlight);
  }

  recordSuccess(): void {
    this.failures = 0;
    this.probeInFlight = false;
    if (this.state !== 'closed') this.transition('closed');
  }

  recordFailure(): void {
    this.probeInFlight = false;
    if (!this.settings.enabled) return;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.settings.failureThreshold) {
      if (this.state === 'closed') this.openedAt = this.clock();
      const jitter = this.random() * this.settings.openTimeoutMs * 0.25;
      this.retryAt = this.clock() + this.settings.openTimeoutMs + jitter;
      this.transition('open');
    }
  }

  private transition(to: BreakerState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === 'closed') {
      this.failures = 0;
      this.openedAt = 0;
    }
    this.onTransition?.(from, to);
  }
}
