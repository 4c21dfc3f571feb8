/** How many failed logins lock a client address or a login name, and for how long. */
export interface ThrottlePolicy {
  maxFailures: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
  lockoutMs: number;
  /** Addresses and names tracked at most (the oldest are forgotten first): memory stays bounded under a spray. */
  maxTracked: number;
}

export const defaultThrottlePolicy: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 5 * 60_000, maxTracked: 10_000 };

interface Record {
  failures: number;
  firstAtMs: number;
  lockedUntilMs: number;
}

/** Why a login is refused before its credentials are looked at, and for how long still. */
export interface Lockout {
  by: 'address' | 'name';
  retryAfterSeconds: number;
}

/**
 * Failed dashboard logins, counted per client address and per login name (also names that do
 * not exist, so probing names costs the same as guessing a secret). After `maxFailures` failures
 * within the window either one is locked for `lockoutMs`; while locked, even the right secret is
 * refused. A successful login clears both. Per instance, in memory.
 */
export class LoginThrottle {
  private readonly byAddress = new Map<string, Record>();
  private readonly byName = new Map<string, Record>();

  constructor(private readonly policy: ThrottlePolicy = defaultThrottlePolicy, private readonly now: () => number = Date.now) {}

  lockout(address: string, name: string): Lockout | undefined {
    const now = this.now();
    const lockedFor = (r: Record | undefined) => (r && r.lockedUntilMs > now ? Math.ceil((r.lockedUntilMs - now) / 1000) : 0);
    const a = lockedFor(this.byAddress.get(address));
    const n = lockedFor(this.byName.get(name));
    if (a === 0 && n === 0) return undefined;
    return a >= n ? { by: 'address', retryAfterSeconds: a } : { by: 'name', retryAfterSeconds: n };
  }

  /** Counts a failure; returns the lockout it started, if any. */
  failed(address: string, name: string): Lockout | undefined {
    this.count(this.byAddress, address);
    this.count(this.byName, name);
    return this.lockout(address, name);
  }

  succeeded(address: string, name: string): void {
    this.byAddress.delete(address);
    this.byName.delete(name);
  }

  private count(map: Map<string, Record>, id: string): void {
    const now = this.now();
    let r = map.get(id);
    if (!r || (now - r.firstAtMs > this.policy.windowMs && r.lockedUntilMs <= now)) r = { failures: 0, firstAtMs: now, lockedUntilMs: 0 };
    map.delete(id);
    r.failures++;
    if (r.failures >= this.policy.maxFailures) {
      r.lockedUntilMs = now + this.policy.lockoutMs;
      r.failures = 0;
      r.firstAtMs = now;
    }
    map.set(id, r);
    while (map.size > this.policy.maxTracked) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
