import type { RateLimitConfig } from '../../domain/config/config.js';
import { clientIp, TrustedProxies } from './client-ip.js';
import { TokenBuckets } from './token-buckets.js';

/**
 * The per-client-IP rate limit (`rate_limit`), following the live configuration: a reload that
 * changes it takes effect at the next request or sweep. Switching it on or off, new trusted
 * proxies and a new sweep interval apply as they are; a new rate or burst adjusts the clients'
 * buckets without refilling them (a reload is no way around the limit).
 */
export class RateLimiter {
  private applied: RateLimitConfig;
  private trusted: TrustedProxies;
  private readonly buckets: TokenBuckets;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly settings: () => RateLimitConfig, now?: () => number) {
    this.applied = settings();
    this.trusted = new TrustedProxies(this.applied.trusted_proxies);
    this.buckets = new TokenBuckets(limitsOf(this.applied), now);
  }

  /** Clients currently tracked. */
  get tracked(): number {
    return this.buckets.size;
  }

  /** False when the client is over its rate; always true while the limit is off. */
  allow(peer: string | undefined, forwardedFor: string | undefined): boolean {
    const settings = this.current();
    if (!settings.enabled) return true;
    return this.buckets.take(clientIp(peer, forwardedFor, this.trusted));
  }

  /** Drops idle clients (every `cleanup_interval` once started). */
  sweep(): void {
    this.buckets.evictIdle(this.current().cleanup_max_age);
  }

  start(): void {
    this.stop();
    this.sweeper = setInterval(() => this.sweep(), this.applied.cleanup_interval);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** The configuration in effect, applying a reloaded one first. */
  private current(): RateLimitConfig {
    const next = this.settings();
    if (next === this.applied) return next;
    const previous = this.applied;
    this.applied = next;
    this.buckets.setLimits(limitsOf(next));
    if (next.trusted_proxies.join(',') !== previous.trusted_proxies.join(',')) this.trusted = new TrustedProxies(next.trusted_proxies);
    if (this.sweeper && next.cleanup_interval !== previous.cleanup_interval) this.start();
    return next;
  }
}

const limitsOf = (c: RateLimitConfig) => ({ ratePerSec: c.requests_per_sec, burst: c.burst });
