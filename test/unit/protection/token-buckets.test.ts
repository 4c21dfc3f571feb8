import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../../gateway/protection/token-buckets.js';

function clock() {
  let ms = 1_000_000;
  return { now: () => ms, advance: (d: number) => (ms += d) };
}

/** How many of `n` requests in a row get through. */
function admitted(buckets: TokenBuckets, key: string, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i += 1) if (buckets.take(key)) ok += 1;
  return ok;
}

describe('token buckets', () => {
  it('lets a new client send a burst, then refuses', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 5 }, t.now);
    expect(admitted(buckets, 'a', 20)).toBe(5);
    expect(buckets.take('a')).toBe(false);
  });

  it('refills at the rate, never beyond the burst', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 2, burst: 4 }, t.now);
    admitted(buckets, 'a', 4);
    t.advance(499);
    expect(buckets.take('a')).toBe(false);
    t.advance(1);
    expect(buckets.take('a')).toBe(true);
    expect(buckets.take('a')).toBe(false);
    t.advance(60_000);
    expect(admitted(buckets, 'a', 10)).toBe(4);
  });

  it('keeps one bucket per client', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 2 }, t.now);
    expect(admitted(buckets, 'a', 3)).toBe(2);
    expect(admitted(buckets, 'b', 3)).toBe(2);
    expect(buckets.size).toBe(2);
  });

  it('a refused request earns no token (a client hammering stays limited)', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1 }, t.now);
    buckets.take('a');
    let ok = 0;
    for (let i = 0; i < 8; i += 1) {
      t.advance(250);
      if (buckets.take('a')) ok += 1;
    }
    expect(ok).toBe(2);
  });

  it('a new rate keeps each client\'s tokens: an empty bucket stays empty', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 5 }, t.now);
    admitted(buckets, 'a', 5);
    buckets.setLimits({ ratePerSec: 10, burst: 5 });
    expect(buckets.take('a')).toBe(false);
    t.advance(100);
    expect(admitted(buckets, 'a', 5)).toBe(1);
  });

  it('tokens earned before a change are counted at the old rate', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 10 }, t.now);
    admitted(buckets, 'a', 10);
    t.advance(3000);
    buckets.setLimits({ ratePerSec: 100, burst: 10 });
    expect(admitted(buckets, 'a', 10)).toBe(3);
  });

  it('a smaller burst caps the tokens held; a larger one is earned, not granted', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 10 }, t.now);
    buckets.take('a');
    buckets.setLimits({ ratePerSec: 1, burst: 3 });
    expect(admitted(buckets, 'a', 10)).toBe(3);
    buckets.setLimits({ ratePerSec: 1, burst: 50 });
    expect(buckets.take('a')).toBe(false);
    t.advance(20_000);
    expect(admitted(buckets, 'a', 100)).toBe(20);
  });

  it('evicts clients unseen for the max age, keeps recent ones that are still short of tokens', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 0.001, burst: 5 }, t.now);
    admitted(buckets, 'old', 5);
    t.advance(60_000);
    admitted(buckets, 'recent', 5);
    t.advance(30_000);
    expect(buckets.evictIdle(60_000)).toBe(1);
    expect(buckets.size).toBe(1);
    // Kept with its state: still limited.
    expect(buckets.take('recent')).toBe(false);
  });

  it('also evicts clients whose bucket is full again: they are no different from new ones', () => {
    const t = clock();
    const buckets = new TokenBuckets({ ratePerSec: 10, burst: 5 }, t.now);
    buckets.take('a');
    admitted(buckets, 'b', 5);
    t.advance(100);
    expect(buckets.evictIdle(300_000)).toBe(1);
    t.advance(400);
    expect(buckets.evictIdle(300_000)).toBe(1);
    expect(buckets.size).toBe(0);
  });
});
