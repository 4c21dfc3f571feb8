export interface BucketLimits {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Capacity: the most requests a rested client may send at once. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  refilledAt: number;
  lastSeen: number;
}

/**
 * One token bucket per key (a client address). A new key starts full; each request takes a
 * token; tokens come back at `ratePerSec` up to `burst`. Time comes from `now` (milliseconds,
 * monotonic), so tests drive it.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private limits: BucketLimits;

  constructor(limits: BucketLimits, private readonly now: () => number = () => performance.now()) {
    this.limits = limits;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for `key`; false when there is none (the request is over the limit). */
  take(key: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.refill(bucket, now);
    } else {
      bucket = { tokens: this.limits.burst, refilledAt: now, lastSeen: now };
      this.buckets.set(key, bucket);
    }
    bucket.lastSeen = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * New limits keep every client's state: tokens earned so far are counted at the old rate, then
   * capped at the new burst; from now on they come back at the new rate.
   */
  setLimits(limits: BucketLimits): void {
    if (limits.ratePerSec === this.limits.ratePerSec && limits.burst === this.limits.burst) return;
    const now = this.now();
    for (const bucket of this.buckets.values()) {
      this.refill(bucket, now);
      bucket.tokens = Math.min(bucket.tokens, limits.burst);
    }
    this.limits = limits;
  }

  /**
   * Forgets clients unseen for `maxAgeMs`, and clients whose bucket is full again: a full bucket
   * is what a new client gets, so dropping it changes nothing but the memory held.
   */
  evictIdle(maxAgeMs: number): number {
    const now = this.now();
    let evicted = 0;
    for (const [key, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (now - bucket.lastSeen >= maxAgeMs || bucket.tokens >= this.limits.burst) {
        this.buckets.delete(key);
        evicted += 1;
      }
    }
    return evicted;
  }

  private refill(bucket: Bucket, now: number): void {
    const earned = ((now - bucket.refilledAt) / 1000) * this.limits.ratePerSec;
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + earned);
    bucket.refilledAt = now;
  }
}
