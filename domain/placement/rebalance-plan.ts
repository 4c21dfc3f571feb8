import type { RoutingStrategy } from './placement.js';

/** A backend the rebalancer may move copies off and onto (active, breaker closed, with a quota). */
export interface RebalanceBackend {
  name: string;
  /** Position in the configuration: pack fills backends in this order. */
  order: number;
  /** > 0: backends without a quota have no utilisation and take no part. */
  quotaBytes: number;
  /** Bytes that occupy the quota: used + orphan + pending. */
  occupiedBytes: number;
}

/** A copy the rebalancer may move; `holders` are every backend holding a copy of the same object. */
export interface RebalanceCopy {
  bucket: string;
  key: string;
  writeId: string;
  backend: string;
  storageKey: string;
  size: number;
  holders: readonly string[];
}

export interface PlannedMove {
  bucket: string;
  key: string;
  writeId: string;
  storageKey: string;
  size: number;
  from: string;
  to: string;
}

export interface RebalancePlan {
  /** max − min utilisation before the moves. */
  spread: number;
  /** What the spread would be after the moves. */
  spreadAfter: number;
  moves: PlannedMove[];
}

export interface RebalanceOptions {
  threshold: number;
  maxMoves: number;
}

/** Utilisation spread (max − min of occupied/quota) over backends with a quota; 0 for fewer than two. */
export function utilisationSpread(backends: readonly RebalanceBackend[]): number {
  const limited = backends.filter((b) => b.quotaBytes > 0);
  if (limited.length < 2) return 0;
  const u = limited.map((b) => b.occupiedBytes / b.quotaBytes);
  // Rounded so that a spread equal to the threshold is not missed by floating-point noise.
  return Math.round((Math.max(...u) - Math.min(...u)) * 1e9) / 1e9;
}

class Simulation {
  readonly occupied = new Map<string, number>();
  readonly holders = new Map<string, Set<string>>();
  readonly movedObjects = new Set<string>();
  readonly moves: PlannedMove[] = [];

  constructor(readonly backends: readonly RebalanceBackend[]) {
    for (const b of backends) this.occupied.set(b.name, b.occupiedBytes);
  }

  u(b: RebalanceBackend): number {
    return (this.occupied.get(b.name) ?? 0) / b.quotaBytes;
  }

  room(b: RebalanceBackend): number {
    return b.quotaBytes - (this.occupied.get(b.name) ?? 0);
  }

  holds(b: RebalanceBackend, c: RebalanceCopy): boolean {
    return (this.holders.get(objectId(c)) ?? new Set(c.holders)).has(b.name);
  }

  movable(c: RebalanceCopy): boolean {
    return !this.movedObjects.has(objectId(c));
  }

  move(c: RebalanceCopy, to: RebalanceBackend): void {
    const id = objectId(c);
    const h = new Set(this.holders.get(id) ?? c.holders);
    h.delete(c.backend);
    h.add(to.name);
    this.holders.set(id, h);
    this.movedObjects.add(id);
    this.occupied.set(c.backend, (this.occupied.get(c.backend) ?? 0) - c.size);
    this.occupied.set(to.name, (this.occupied.get(to.name) ?? 0) + c.size);
    this.moves.push({ bucket: c.bucket, key: c.key, writeId: c.writeId, storageKey: c.storageKey, size: c.size, from: c.backend, to: to.name });
  }

  spread(): number {
    return utilisationSpread(this.backends.map((b) => ({ ...b, occupiedBytes: this.occupied.get(b.name) ?? 0 })));
  }
}

const objectId = (c: { bucket: string; key: string }): string => `${c.bucket}/${c.key}`;

/**
 * `pack`: empties the least utilised backends into fuller ones, tried in configuration order,
 * smallest copies first, while they have room: data ends up on as few backends as possible,
 * the first ones in the configuration.
 */
function planPack(sim: Simulation, copies: ReadonlyMap<string, readonly RebalanceCopy[]>, maxMoves: number): void {
  const byOrder = [...sim.backends].sort((a, b) => a.order - b.order);
  const sources = [...sim.backends].sort((a, b) => sim.u(a) - sim.u(b) || b.order - a.order);
  for (const source of sources) {
    for (const c of copies.get(source.name) ?? []) {
      if (sim.moves.length >= maxMoves) return;
      if (!sim.movable(c)) continue;
      const target = byOrder.find((t) => t.name !== source.name && sim.u(t) >= sim.u(source) && sim.room(t) >= c.size && !sim.holds(t, c));
      if (target) sim.move(c, target);
    }
  }
}

/**
 * `spread`: moves copies, smallest first, from backends above the overall utilisation
 * (Σ occupied / Σ quota) to the backends furthest below it, as long as each move brings both
 * closer to it.
 */
function planSpread(sim: Simulation, copies: ReadonlyMap<string, readonly RebalanceCopy[]>, maxMoves: number): void {
  const total = sim.backends.reduce((n, b) => n + b.occupiedBytes, 0);
  const capacity = sim.backends.reduce((n, b) => n + b.quotaBytes, 0);
  const ratio = total / capacity;
  const surplus = (b: RebalanceBackend) => (sim.occupied.get(b.name) ?? 0) - ratio * b.quotaBytes;
  const sources = [...sim.backends].filter((b) => surplus(b) > 0).sort((a, b) => sim.u(b) - sim.u(a) || a.order - b.order);
  for (const source of sources) {
    for (const c of copies.get(source.name) ?? []) {
      if (sim.moves.length >= maxMoves || surplus(source) <= 0) break;
      if (!sim.movable(c) || c.size >= 2 * surplus(source)) continue;
      const target = [...sim.backends]
        .filter((t) => t.name !== source.name && -surplus(t) > 0 && c.size < -2 * surplus(t) && sim.room(t) >= c.size && !sim.holds(t, c))
        .sort((a, b) => sim.u(a) - sim.u(b) || a.order - b.order)[0];
      if (target) sim.move(c, target);
    }
  }
}

/**
 * Plans the moves of one rebalance run. Nothing is planned unless the utilisation spread is at
 * least `threshold`. `copies` lists, per backend, the copies it may give up, smallest first.
 */
export function planRebalance(
  strategy: RoutingStrategy,
  backends: readonly RebalanceBackend[],
  copies: ReadonlyMap<string, readonly RebalanceCopy[]>,
  opts: RebalanceOptions,
): RebalancePlan {
  const limited = backends.filter((b) => b.quotaBytes > 0);
  const spread = utilisationSpread(limited);
  if (spread < opts.threshold || limited.length < 2) return { spread, spreadAfter: spread, moves: [] };
  const sim = new Simulation(limited);
  if (strategy === 'pack') planPack(sim, copies, opts.maxMoves);
  else planSpread(sim, copies, opts.maxMoves);
  return { spread, spreadAfter: sim.spread(), moves: sim.moves };
}
