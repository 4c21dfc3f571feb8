import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { availableBytes, canTakeWrite, utilisation } from '../../domain/placement/placement.js';
import { planRebalance, utilisationSpread, type RebalanceBackend, type RebalanceCopy } from '../../domain/placement/rebalance-plan.js';
import { UsageMeter, type UsageCounts, type UsageLimits } from '../../services/usage/usage-meter.js';
import { bytes, candidate } from './arbitraries.js';
import { fuzzRuns } from './fuzz-runs.js';

/**
 * Quota arithmetic: a backend takes a write only if the bytes fit its quota with everything
 * already on it, orphaned or pending; monthly usage limits count every recorded operation,
 * through flushes that fail and months that end; a rebalance never overfills a backend, never
 * loses or invents bytes and never moves an object twice or onto a backend that holds it.
 */

describe('fuzz: quota arithmetic', () => {
  it('lets a backend take a write only when everything on it plus the write fits its quota', () => {
    fc.assert(fc.property(candidate, bytes, (c, size) => {
      const occupied = c.usedBytes + c.orphanBytes + c.pendingBytes;
      const fits = c.quotaBytes === 0 || occupied + size <= c.quotaBytes;
      const eligible = c.state === 'active' && !c.circuitOpen && !c.usageExceeded && (c.maxObjectSize === 0 || size <= c.maxObjectSize);
      expect(canTakeWrite(c, size)).toBe(eligible && fits);
      expect(availableBytes(c)).toBe(c.quotaBytes === 0 ? Infinity : c.quotaBytes - occupied);
      expect(utilisation(c)).toBe(c.quotaBytes === 0 ? 0 : occupied / c.quotaBytes);
    }), fuzzRuns(2000));
  });

  it('counts every recorded operation against the monthly limits, across failed flushes and month ends', async () => {
    type Step =
      | { kind: 'record'; backend: string; delta: Partial<UsageCounts> }
      | { kind: 'flush'; succeeds: boolean }
      | { kind: 'next-month' };
    const backend = fc.constantFrom('b1', 'b2');
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('record' as const), backend, delta: fc.record({ apiRequests: fc.nat(5), egressBytes: fc.nat(1000), ingressBytes: fc.nat(1000) }, { requiredKeys: [] }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const), succeeds: fc.boolean() }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'next-month' as const }) },
    );
    const limits: fc.Arbitrary<UsageLimits> = fc.record({ apiRequestLimit: fc.nat(30), egressByteLimit: fc.nat(5000), ingressByteLimit: fc.nat(5000) });
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 40 }), limits, fc.record({ apiRequests: fc.nat(3), egressBytes: fc.nat(500), ingressBytes: fc.nat(500) }), async (steps, l, op) => {
      let month = 0;
      const meter = new UsageMeter(() => new Date(Date.UTC(2026, month, 15)));
      const period = (): string => `2026-${String(month + 1).padStart(2, '0')}`;
      const zero = (): UsageCounts => ({ apiRequests: 0, egressBytes: 0, ingressBytes: 0 });
      const add = (into: Map<string, UsageCounts>, b: string, d: Partial<UsageCounts>): void => {
        const c = into.get(b) ?? zero();
        into.set(b, { apiRequests: c.apiRequests + (d.apiRequests ?? 0), egressBytes: c.egressBytes + (d.egressBytes ?? 0), ingressBytes: c.ingressBytes + (d.ingressBytes ?? 0) });
      };
      // The model: flushed totals per month (what the usage_monthly projection holds) and the unflushed counts.
      const flushed = new Map<string, Map<string, UsageCounts>>();
      let pending = new Map<string, UsageCounts>();
      // A stand-in for the usage_monthly table the meter reads its baseline from, answering from the model.
      const usageMonthlyStandIn = {
        query: async (_sql: string, [p]: [string]) => ({
          rows: [...(flushed.get(p) ?? new Map<string, UsageCounts>())].map(([backend, c]) => ({
            backend, api_requests: String(c.apiRequests), egress_bytes: String(c.egressBytes), ingress_bytes: String(c.ingressBytes),
          })),
        }),
      };
      const refresh = (): Promise<void> => meter.refreshBaseline(usageMonthlyStandIn as never);
      await refresh();
      for (const s of steps) {
        if (s.kind === 'record') {
          meter.record(s.backend, s.delta);
          add(pending, s.backend, s.delta);
        } else if (s.kind === 'flush') {
          // As the usage-flush worker does it: baseline first, then the flush.
          await refresh();
          const drained = meter.drain();
          expect(drained.period).toBe(period());
          if (s.succeeds) {
            meter.addToBaseline(drained.period, drained.counts);
            const into = flushed.get(drained.period) ?? new Map<string, UsageCounts>();
            for (const [b, c] of pending) add(into, b, c);
            flushed.set(drained.period, into);
            pending = new Map();
          } else {
            drained.restore();
          }
        } else {
          month = (month + 1) % 12;
          flushed.delete(period());
        }
        for (const b of ['b1', 'b2']) {
          const expected = zero();
          for (const source of [flushed.get(period()), pending]) {
            const c = source?.get(b);
            if (c) { expected.apiRequests += c.apiRequests; expected.egressBytes += c.egressBytes; expected.ingressBytes += c.ingressBytes; }
          }
          expect(meter.effective(b)).toEqual(expected);
          const over = (l.apiRequestLimit > 0 && expected.apiRequests + op.apiRequests > l.apiRequestLimit) ||
            (l.egressByteLimit > 0 && expected.egressBytes + op.egressBytes > l.egressByteLimit) ||
            (l.ingressByteLimit > 0 && expected.ingressBytes + op.ingressBytes > l.ingressByteLimit);
          expect(meter.wouldExceed(b, l, op)).toBe(over);
        }
      }
    }), fuzzRuns(300));
  });

  it('plans rebalances that never overfill, lose, invent or double-move bytes, and only move towards balance', () => {
    const plan = fc.uniqueArray(fc.record({ name: fc.stringMatching(/^b[0-9]$/), order: fc.nat(9), quotaBytes: fc.integer({ min: 0, max: 5_000 }) }), { selector: (b) => b.name, minLength: 1, maxLength: 5 })
      .chain((backends) => fc.record({
        backends: fc.constant(backends),
        objects: fc.array(fc.record({ key: fc.stringMatching(/^k[0-9]{1,2}$/), size: fc.integer({ min: 1, max: 800 }), holders: fc.subarray(backends.map((b) => b.name), { minLength: 1 }) }), { maxLength: 14 }),
        strategy: fc.constantFrom('pack' as const, 'spread' as const),
        threshold: fc.double({ min: 0, max: 0.5, noNaN: true }),
        maxMoves: fc.integer({ min: 0, max: 10 }),
      }));
    fc.assert(fc.property(plan, ({ backends, objects, strategy, threshold, maxMoves }) => {
      const unique = [...new Map(objects.map((o) => [o.key, o])).values()];
      const occupied = new Map(backends.map((b) => [b.name, 0]));
      const copies = new Map<string, RebalanceCopy[]>();
      for (const o of unique) {
        for (const h of o.holders) {
          occupied.set(h, (occupied.get(h) ?? 0) + o.size);
          const list = copies.get(h) ?? [];
          list.push({ bucket: 'alpha', key: o.key, writeId: `w-${o.key}`, backend: h, storageKey: `alpha/${o.key}~${h}`, size: o.size, holders: o.holders });
          copies.set(h, list);
        }
      }
      for (const list of copies.values()) list.sort((a, b) => a.size - b.size);
      const input: RebalanceBackend[] = backends.map((b) => ({ ...b, occupiedBytes: occupied.get(b.name) ?? 0 }));
      const result = planRebalance(strategy, input, copies, { threshold, maxMoves });

      expect(result.moves.length).toBeLessThanOrEqual(maxMoves);
      expect(new Set(result.moves.map((m) => m.key)).size).toBe(result.moves.length);
      const after = new Map(occupied);
      for (const m of result.moves) {
        const source = unique.find((o) => o.key === m.key);
        expect(source?.holders).toContain(m.from);
        expect(source?.holders).not.toContain(m.to);
        expect(m.size).toBe(source?.size);
        after.set(m.from, (after.get(m.from) ?? 0) - m.size);
        after.set(m.to, (after.get(m.to) ?? 0) + m.size);
      }
      for (const b of backends) {
        if (result.moves.some((m) => m.to === b.name)) expect(after.get(b.name) ?? 0).toBeLessThanOrEqual(b.quotaBytes);
        if (result.moves.some((m) => m.from === b.name || m.to === b.name)) expect(b.quotaBytes).toBeGreaterThan(0);
      }
      expect([...after.values()].reduce((a, b) => a + b, 0)).toBe([...occupied.values()].reduce((a, b) => a + b, 0));
      expect(result.spreadAfter).toBe(utilisationSpread(input.map((b) => ({ ...b, occupiedBytes: after.get(b.name) ?? 0 })).filter((b) => b.quotaBytes > 0)));
      if (strategy === 'spread' && result.moves.length > 0) {
        // Each move brings both backends closer to the overall utilisation, so the total
        // distance from it shrinks. (max − min can still grow a little: a 1-byte move off a tiny
        // quota can leave that backend the new minimum.)
        const limited = backends.filter((b) => b.quotaBytes > 0);
        // Bytes held by a backend without a quota take no part in the balance (the planner never moves them).
        const ratio = limited.reduce((n, b) => n + (occupied.get(b.name) ?? 0), 0) / limited.reduce((n, b) => n + b.quotaBytes, 0);
        const distance = (m: Map<string, number>) => limited.reduce((n, b) => n + Math.abs((m.get(b.name) ?? 0) - ratio * b.quotaBytes), 0);
        expect(distance(after)).toBeLessThan(distance(occupied));
      }
      if (result.spread < threshold) expect(result.moves).toEqual([]);
    }), fuzzRuns(400));
  });
});
