import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../../gateway/protection/rate-limiter.js';
import type { RateLimitConfig } from '../../../domain/config/config.js';

const base: RateLimitConfig = {
  enabled: true, requests_per_sec: 1, burst: 3, cleanup_interval: 60_000, cleanup_max_age: 300_000, trusted_proxies: [],
};

/** A limiter reading a configuration a test can replace, as a reload does, on a clock the test drives. */
function setup(initial: Partial<RateLimitConfig> = {}) {
  let config: RateLimitConfig = { ...base, ...initial };
  let ms = 0;
  const limiter = new RateLimiter(() => config, () => ms);
  return {
    limiter,
    reload: (next: Partial<RateLimitConfig>) => (config = { ...config, ...next }),
    advance: (d: number) => (ms += d),
    allowed: (n: number, peer = '203.0.113.1', xff?: string) => {
      let ok = 0;
      for (let i = 0; i < n; i += 1) if (limiter.allow(peer, xff)) ok += 1;
      return ok;
    },
  };
}

describe('rate limiter (live configuration)', () => {
  afterEach(() => vi.useRealTimers());

  it('limits per client address', () => {
    const s = setup();
    expect(s.allowed(10, '203.0.113.1')).toBe(3);
    expect(s.allowed(10, '203.0.113.2')).toBe(3);
  });

  it('lets everything through while disabled, and tracks nobody', () => {
    const s = setup({ enabled: false });
    expect(s.allowed(100)).toBe(100);
    expect(s.limiter.tracked).toBe(0);
  });

  it('a reload can switch it on and off', () => {
    const s = setup({ enabled: false });
    expect(s.allowed(10)).toBe(10);
    s.reload({ enabled: true });
    expect(s.allowed(10)).toBe(3);
    s.reload({ enabled: false });
    expect(s.allowed(10)).toBe(10);
  });

  it('a reload with a new rate and burst keeps the clients\' buckets (no refill by reloading)', () => {
    const s = setup({ requests_per_sec: 1, burst: 3 });
    expect(s.allowed(3)).toBe(3);
    s.reload({ requests_per_sec: 10, burst: 20 });
    expect(s.allowed(5)).toBe(0);
    s.advance(500);
    expect(s.allowed(20)).toBe(5);
  });

  it('a reload of the trusted proxies changes whose X-Forwarded-For counts', () => {
    const s = setup({ burst: 1 });
    // Untrusted peer: every forwarded address is the same client (the peer).
    expect(s.allowed(1, '10.0.0.1', '198.51.100.1') + s.allowed(1, '10.0.0.1', '198.51.100.2')).toBe(1);
    s.reload({ trusted_proxies: ['10.0.0.0/8'] });
    expect(s.allowed(1, '10.0.0.1', '198.51.100.1') + s.allowed(1, '10.0.0.1', '198.51.100.2')).toBe(2);
    expect(s.allowed(1, '10.0.0.1', '198.51.100.1')).toBe(0);
  });

  it('a sweep forgets idle clients after cleanup_max_age', () => {
    const s = setup({ requests_per_sec: 0.0001, burst: 2, cleanup_max_age: 60_000 });
    s.allowed(2, '203.0.113.1');
    s.advance(30_000);
    s.allowed(2, '203.0.113.2');
    expect(s.limiter.tracked).toBe(2);
    s.advance(30_000);
    s.limiter.sweep();
    expect(s.limiter.tracked).toBe(1);
    s.reload({ cleanup_max_age: 10_000 });
    s.limiter.sweep();
    expect(s.limiter.tracked).toBe(0);
  });

  it('sweeps every cleanup_interval once started, at the reloaded interval after a reload', () => {
    vi.useFakeTimers();
    const s = setup({ requests_per_sec: 0.0001, burst: 2, cleanup_interval: 60_000, cleanup_max_age: 1 });
    s.limiter.start();
    try {
      s.allowed(1);
      s.advance(10);
      vi.advanceTimersByTime(59_999);
      expect(s.limiter.tracked).toBe(1);
      vi.advanceTimersByTime(1);
      expect(s.limiter.tracked).toBe(0);
      s.reload({ cleanup_interval: 1000 });
      s.allowed(1);
      s.advance(10);
      vi.advanceTimersByTime(1000);
      expect(s.limiter.tracked).toBe(0);
    } finally {
      s.limiter.stop();
    }
  });
});
