import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdmissionControl, type Admission, type AdmissionSettings } from '../../../gateway/protection/admission.js';

const settings = (s: Partial<AdmissionSettings>): AdmissionSettings => ({
  maxConcurrent: 1000, maxReads: 0, maxWrites: 0, shedThreshold: 0, waitMs: 0, ...s,
});

/** Admits synchronously or fails the test. */
function now(a: Admission | Promise<Admission>): Admission {
  if (a instanceof Promise) throw new Error('expected an immediate answer');
  return a;
}

function release(a: Admission): void {
  if (!a.admitted) throw new Error('expected an admission');
  a.release();
}

describe('admission control', () => {
  afterEach(() => vi.useRealTimers());

  it('admits up to the global limit, then refuses for capacity; a released slot admits again', () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 2 }));
    const first = now(ac.admit('GET'));
    const second = now(ac.admit('PUT'));
    expect([first.admitted, second.admitted]).toEqual([true, true]);
    expect(now(ac.admit('HEAD'))).toEqual({ admitted: false, reason: 'capacity' });
    release(first);
    expect(now(ac.admit('DELETE')).admitted).toBe(true);
  });

  it('gives a slot back once, however often release is called', () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 2 }));
    const a = now(ac.admit('GET'));
    now(ac.admit('GET'));
    release(a);
    release(a);
    expect(ac.inUse('GET')).toBe(1);
  });

  it('uses the global pool unless both read and write limits are set', () => {
    expect(new AdmissionControl(settings({ maxReads: 5 })).split).toBe(false);
    expect(new AdmissionControl(settings({ maxWrites: 5 })).split).toBe(false);
    expect(new AdmissionControl(settings({ maxReads: 5, maxWrites: 5 })).split).toBe(true);
  });

  it('split pools: reads (GET, HEAD) and writes (PUT, POST, DELETE) have their own limits, instead of the global one', () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 1, maxReads: 2, maxWrites: 1 }));
    expect(now(ac.admit('PUT')).admitted).toBe(true);
    expect(now(ac.admit('POST'))).toEqual({ admitted: false, reason: 'capacity' });
    expect(now(ac.admit('DELETE'))).toEqual({ admitted: false, reason: 'capacity' });
    // Writes are full; reads are not affected (and the global limit of 1 does not apply).
    expect(now(ac.admit('GET')).admitted).toBe(true);
    expect(now(ac.admit('HEAD')).admitted).toBe(true);
    expect(now(ac.admit('GET'))).toEqual({ admitted: false, reason: 'capacity' });
    expect([ac.inUse('GET'), ac.inUse('PUT')]).toEqual([2, 1]);
  });

  it('with a wait, a request on a full pool gets the next freed slot', async () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 1, waitMs: 60_000 }));
    const held = now(ac.admit('GET'));
    const waiting = ac.admit('GET');
    expect(waiting).toBeInstanceOf(Promise);
    release(held);
    const granted = await waiting;
    expect(granted.admitted).toBe(true);
    // The slot went to the waiter: the pool is still full.
    expect(ac.inUse('GET')).toBe(1);
    expect(await ac.admit('GET', '', () => AbortSignal.abort())).toEqual({ admitted: false, reason: 'capacity' });
  });

  it('waiters are served oldest first', async () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 1, waitMs: 60_000 }));
    const held = now(ac.admit('GET'));
    const order: string[] = [];
    const a = Promise.resolve(ac.admit('GET')).then((x) => { order.push('a'); return x; });
    const b = Promise.resolve(ac.admit('GET')).then((x) => { order.push('b'); return x; });
    release(held);
    release(await a);
    await b;
    expect(order).toEqual(['a', 'b']);
  });

  it('with a wait, a request is refused for capacity when no slot frees in time', async () => {
    vi.useFakeTimers();
    const ac = new AdmissionControl(settings({ maxConcurrent: 1, waitMs: 500 }));
    now(ac.admit('GET'));
    const waiting = ac.admit('GET');
    await vi.advanceTimersByTimeAsync(499);
    let settled = false;
    void Promise.resolve(waiting).then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await waiting).toEqual({ admitted: false, reason: 'capacity' });
  });

  it('a waiting request whose client goes away stops waiting and takes no slot', async () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 1, waitMs: 60_000 }));
    const held = now(ac.admit('GET'));
    const gone = new AbortController();
    const waiting = ac.admit('GET', '', () => gone.signal);
    gone.abort();
    expect(await waiting).toEqual({ admitted: false, reason: 'capacity' });
    release(held);
    expect(ac.inUse('GET')).toBe(0);
  });

  it('sheds nothing at or below the threshold', () => {
    const random = vi.fn(() => 0);
    const ac = new AdmissionControl(settings({ maxConcurrent: 10, shedThreshold: 0.5 }), random);
    for (let i = 0; i < 6; i += 1) expect(now(ac.admit('GET')).admitted).toBe(true);
    // 5 in use when the 6th arrived: exactly t × capacity, not above it.
    expect(random).not.toHaveBeenCalled();
  });

  it('sheds above the threshold with probability (in use − t·cap) / (cap − t·cap)', () => {
    let draw = 0.999;
    const ac = new AdmissionControl(settings({ maxConcurrent: 10, shedThreshold: 0.5 }), () => draw);
    const shedOverGrid = () => {
      // A uniform grid of draws: the share shed is the probability.
      let shedCount = 0;
      for (let i = 0; i < 100; i += 1) {
        draw = i / 100;
        const a = now(ac.admit('GET'));
        if (a.admitted) a.release();
        else {
          expect(a.reason).toBe('shed');
          shedCount += 1;
        }
      }
      draw = 0.999;
      return shedCount;
    };
    for (let i = 0; i < 7; i += 1) expect(now(ac.admit('GET')).admitted).toBe(true);
    expect(shedOverGrid()).toBe(40); // 7 in use: (7 − 5) / (10 − 5)
    now(ac.admit('GET'));
    now(ac.admit('GET'));
    expect(shedOverGrid()).toBe(80); // 9 in use: (9 − 5) / (10 − 5)
  });

  it('the threshold need not fall on a whole number of slots', () => {
    let draw = 0.999;
    const ac = new AdmissionControl(settings({ maxConcurrent: 10, shedThreshold: 0.75 }), () => draw);
    for (let i = 0; i < 7; i += 1) now(ac.admit('GET'));
    draw = 0;
    // 7 in use is below 7.5: never shed, even with the lowest draw.
    const below = now(ac.admit('GET'));
    expect(below.admitted).toBe(true);
    // 8 in use: p = (8 − 7.5) / (10 − 7.5) = 0.2.
    draw = 0.19;
    expect(now(ac.admit('GET'))).toEqual({ admitted: false, reason: 'shed' });
    draw = 0.21;
    expect(now(ac.admit('GET')).admitted).toBe(true);
  });

  it('refuses for capacity, not by shedding, when the pool is full', () => {
    const ac = new AdmissionControl(settings({ maxConcurrent: 4, shedThreshold: 0.5 }), () => 1);
    for (let i = 0; i < 4; i += 1) now(ac.admit('GET'));
    expect(now(ac.admit('GET'))).toEqual({ admitted: false, reason: 'capacity' });
  });
  describe('fair between buckets', () => {
    const admitted = (a: Admission | Promise<Admission>) => now(a).admitted;

    it('keeps half of each other bucket\'s equal share free for it; a bucket borrows the rest', () => {
      // 8 slots, 2 buckets: 2 guaranteed to each.
      const ac = new AdmissionControl(settings({ maxConcurrent: 8, buckets: () => ['alpha', 'beta'] }));
      for (let i = 0; i < 6; i += 1) expect(admitted(ac.admit('PUT', 'alpha'))).toBe(true);
      expect(now(ac.admit('PUT', 'alpha'))).toEqual({ admitted: false, reason: 'capacity' });
      // Requests of no configured bucket have no guarantee either.
      expect(admitted(ac.admit('GET', ''))).toBe(false);
      expect(admitted(ac.admit('GET', 'beta'))).toBe(true);
      expect(admitted(ac.admit('GET', 'beta'))).toBe(true);
      expect(admitted(ac.admit('GET', 'beta'))).toBe(false);
      expect([ac.inUse('GET', 'alpha'), ac.inUse('GET', 'beta'), ac.inUse('GET')]).toEqual([6, 2, 8]);
    });

    it('gives a freed slot to the waiting bucket that holds the fewest, not the oldest waiter', async () => {
      // 4 slots, 2 buckets: 1 guaranteed to each.
      const ac = new AdmissionControl(settings({ maxConcurrent: 4, waitMs: 60_000, buckets: () => ['alpha', 'beta'] }));
      const alpha = [now(ac.admit('PUT', 'alpha')), now(ac.admit('PUT', 'alpha')), now(ac.admit('PUT', 'alpha'))];
      now(ac.admit('GET', 'beta'));
      const order: string[] = [];
      const alphaWaits = Promise.resolve(ac.admit('PUT', 'alpha')).then((x) => { order.push('alpha'); return x; });
      const betaWaits = Promise.resolve(ac.admit('GET', 'beta')).then((x) => { order.push('beta'); return x; });
      release(alpha[0] as Admission);
      expect((await betaWaits).admitted).toBe(true);
      expect(order).toEqual(['beta']);
      release(alpha[1] as Admission);
      expect((await alphaWaits).admitted).toBe(true);
      expect([ac.inUse('GET', 'alpha'), ac.inUse('GET', 'beta')]).toEqual([2, 2]);
    });

    it('a bucket is never refused while it holds fewer than its guarantee, however the others hold theirs', () => {
      const ac = new AdmissionControl(settings({ maxConcurrent: 1000, buckets: () => ['alpha', 'beta'] }));
      let alphaAdmitted = 0;
      for (let i = 0; i < 1050; i += 1) if (admitted(ac.admit('PUT', 'alpha'))) alphaAdmitted += 1;
      expect(alphaAdmitted).toBe(750);
      for (let i = 0; i < 250; i += 1) expect(admitted(ac.admit('GET', 'beta'))).toBe(true);
    });

    it('follows a reloaded bucket list', () => {
      let buckets: readonly string[] = ['alpha'];
      const ac = new AdmissionControl(settings({ maxConcurrent: 8, buckets: () => buckets }));
      const tickets = Array.from({ length: 8 }, () => now(ac.admit('PUT', 'alpha')));
      expect(tickets.every((t) => t.admitted)).toBe(true);
      buckets = ['alpha', 'beta', 'gamma', 'delta'];
      // 1 guaranteed to each now: the 3 slots alpha frees are kept for the other three.
      for (const t of tickets.slice(0, 3)) release(t);
      expect(admitted(ac.admit('PUT', 'alpha'))).toBe(false);
      for (const b of ['beta', 'gamma', 'delta']) expect(admitted(ac.admit('PUT', b))).toBe(true);
    });
  });
});
