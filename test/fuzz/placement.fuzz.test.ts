import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { availableBytes, canTakeWrite, rankBackendsForWrite, utilisation, type BackendCandidate } from '../../domain/placement/placement.js';
import { candidate } from './arbitraries.js';
import { fuzzRuns } from './fuzz-runs.js';

/**
 * Placement ranking: the backends offered for a write are exactly those that can take it (none
 * excluded by the caller), best first — configuration order for `pack`, lowest utilisation then
 * configuration order for `spread`, most free bytes then configuration order for `free-space` —
 * whatever order the candidates come in.
 */

const candidates = fc.uniqueArray(candidate, { selector: (c) => c.name, maxLength: 8 })
  .map((cs) => cs.map((c, i) => ({ ...c, order: i })));

describe('fuzz: placement ranking', () => {
  it('offers exactly the backends that can take the write, best first, independent of input order', () => {
    fc.assert(fc.property(candidates, fc.nat({ max: 3000 }), fc.constantFrom('pack' as const, 'spread' as const, 'free-space' as const), fc.nat(), fc.array(fc.nat()), (cs, size, strategy, excludeMask, shuffle) => {
      const exclude = new Set(cs.filter((_, i) => (excludeMask >> i) & 1).map((c) => c.name));
      const ranked = rankBackendsForWrite(strategy, cs, size, exclude);
      const eligible = cs.filter((c) => !exclude.has(c.name) && canTakeWrite(c, size));
      expect(new Set(ranked.map((c) => c.name))).toEqual(new Set(eligible.map((c) => c.name)));
      expect(ranked.length).toBe(eligible.length);
      for (let i = 1; i < ranked.length; i++) {
        const [a, b] = [ranked[i - 1] as BackendCandidate, ranked[i] as BackendCandidate];
        if (strategy === 'pack') expect(a.order).toBeLessThan(b.order);
        else if (strategy === 'free-space') expect(availableBytes(a) > availableBytes(b) || (availableBytes(a) === availableBytes(b) && a.order < b.order)).toBe(true);
        else expect(utilisation(a) < utilisation(b) || (utilisation(a) === utilisation(b) && a.order < b.order)).toBe(true);
      }
      const permuted = [...cs].sort((x, y) => (shuffle[x.order] ?? x.order) - (shuffle[y.order] ?? y.order));
      expect(rankBackendsForWrite(strategy, permuted, size, exclude).map((c) => c.name)).toEqual(ranked.map((c) => c.name));
    }), fuzzRuns(2000));
  });
});
