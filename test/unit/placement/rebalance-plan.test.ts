import { describe, expect, test } from 'vitest';
import { planRebalance, utilisationSpread, type RebalanceBackend, type RebalanceCopy } from '../../../domain/placement/rebalance-plan.js';

const backend = (name: string, order: number, quotaBytes: number, occupiedBytes: number): RebalanceBackend => ({ name, order, quotaBytes, occupiedBytes });

/** `n` copies of `size` bytes on `on`, smallest first; `holders` adds other backends holding the same objects. */
function copies(on: string, sizes: number[], holders: string[] = []): RebalanceCopy[] {
  return sizes.map((size, i) => ({ bucket: 'b', key: `${on}/${i}`, writeId: `W${i}`, backend: on, storageKey: `b/${on}/${i}~W${i}`, size, holders: [on, ...holders] }));
}

function after(backends: RebalanceBackend[], moves: { from: string; to: string; size: number }[]): Record<string, number> {
  const occupied = Object.fromEntries(backends.map((b) => [b.name, b.occupiedBytes]));
  for (const m of moves) {
    occupied[m.from] = (occupied[m.from] ?? 0) - m.size;
    occupied[m.to] = (occupied[m.to] ?? 0) + m.size;
  }
  return occupied;
}

describe('utilisation spread', () => {
  test('max minus min over backends with a quota', () => {
    expect(utilisationSpread([backend('a', 0, 100, 50), backend('b', 1, 200, 20), backend('u', 2, 0, 999)])).toBeCloseTo(0.4);
    expect(utilisationSpread([backend('a', 0, 100, 50)])).toBe(0);
  });
});

describe('planRebalance', () => {
  test('plans nothing below the threshold', () => {
    const bs = [backend('a', 0, 1000, 300), backend('b', 1, 1000, 250)];
    const plan = planRebalance('spread', bs, new Map([['a', copies('a', [10, 10, 10])]]), { threshold: 0.1, maxMoves: 100 });
    expect(plan).toEqual({ spread: 0.05, spreadAfter: 0.05, moves: [] });
  });

  test('spread moves the smallest copies toward the overall ratio and ends within the threshold', () => {
    const bs = [backend('a', 0, 1000, 800), backend('b', 1, 1000, 100), backend('c', 2, 2000, 0)];
    const plan = planRebalance('spread', bs, new Map([['a', copies('a', Array(16).fill(50))], ['b', copies('b', [50, 50])]]), { threshold: 0.1, maxMoves: 100 });
    expect(plan.spread).toBe(0.8);
    expect(plan.moves.every((m) => m.from === 'a')).toBe(true);
    const occupied = after(bs, plan.moves);
    // Σ 900 / Σ 4000 = 22.5 %: a 225, b 225, c 450 give or take one copy.
    expect(occupied.a).toBe(250);
    expect(occupied.b).toBe(200);
    expect(occupied.c).toBe(450);
    expect(plan.spreadAfter).toBeLessThan(0.1);
  });

  test('never plans a copy onto a backend that holds the object already, nor the same object twice', () => {
    const bs = [backend('a', 0, 1000, 600), backend('b', 1, 1000, 0), backend('c', 2, 1000, 0)];
    const plan = planRebalance('spread', bs, new Map([['a', copies('a', [100, 100, 100, 100, 100, 100], ['b'])]]), { threshold: 0.1, maxMoves: 100 });
    expect(plan.moves.map((m) => m.to)).toEqual(['c', 'c']);
    expect(new Set(plan.moves.map((m) => m.key)).size).toBe(plan.moves.length);
  });

  test('stops at maxMoves', () => {
    const bs = [backend('a', 0, 1000, 800), backend('b', 1, 1000, 0)];
    const plan = planRebalance('spread', bs, new Map([['a', copies('a', Array(16).fill(50))]]), { threshold: 0.1, maxMoves: 3 });
    expect(plan.moves).toHaveLength(3);
  });

  test('pack empties the least utilised backend into fuller ones in configuration order, while they have room', () => {
    const bs = [backend('a', 0, 1000, 900), backend('b', 1, 1000, 600), backend('c', 2, 1000, 300)];
    const plan = planRebalance('pack', bs, new Map([['b', copies('b', Array(6).fill(100))], ['c', copies('c', [100, 100, 100])]]), { threshold: 0.1, maxMoves: 100 });
    // c (least utilised) goes first: one copy fits a (first in order), the rest go to b; then b has nothing fuller with room.
    expect(plan.moves.map((m) => `${m.from}->${m.to}`)).toEqual(['c->a', 'c->b', 'c->b']);
    expect(after(bs, plan.moves)).toEqual({ a: 1000, b: 800, c: 0 });
  });

  test('pack never moves into an emptier backend', () => {
    const bs = [backend('a', 0, 1000, 100), backend('b', 1, 1000, 500)];
    const plan = planRebalance('pack', bs, new Map([['a', copies('a', [50, 50])], ['b', copies('b', [100, 100, 100, 100, 100])]]), { threshold: 0.1, maxMoves: 100 });
    expect(plan.moves.map((m) => `${m.from}->${m.to}`)).toEqual(['a->b', 'a->b']);
  });

  test('backends without a quota take no part', () => {
    const bs = [backend('a', 0, 1000, 800), backend('u', 1, 0, 0)];
    const plan = planRebalance('spread', bs, new Map([['a', copies('a', [100])]]), { threshold: 0.1, maxMoves: 100 });
    expect(plan.moves).toEqual([]);
  });
});
