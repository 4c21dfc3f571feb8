/** What the router knows about a backend when it places bytes. */
export interface BackendCandidate {
  name: string;
  /** Position in the configuration: pack fills backends in this order. */
  order: number;
  /** Lifecycle state from the backend's stream: only `active` takes new writes. */
  state: string;
  circuitOpen: boolean;
  /** 0 = unlimited. */
  quotaBytes: number;
  usedBytes: number;
  orphanBytes: number;
  pendingBytes: number;
  /** The monthly API/ingress limits would be exceeded by one more write of this size. */
  usageExceeded: boolean;
  /** Per-backend object size limit, 0 = none. */
  maxObjectSize: number;
}

/** `pack`: first backend (config order) with room; `spread`: lowest utilisation. */
export type RoutingStrategy = 'pack' | 'spread';

export function availableBytes(c: BackendCandidate): number {
  if (c.quotaBytes === 0) return Number.POSITIVE_INFINITY;
  return c.quotaBytes - c.usedBytes - c.orphanBytes - c.pendingBytes;
}

/** Share of the quota in use, counting bytes not yet cleaned up; unlimited backends count as empty. */
export function utilisation(c: BackendCandidate): number {
  if (c.quotaBytes === 0) return 0;
  return (c.usedBytes + c.orphanBytes + c.pendingBytes) / c.quotaBytes;
}

export function canTakeWrite(c: BackendCandidate, size: number): boolean {
  return (
    c.state === 'active' &&
    !c.circuitOpen &&
    !c.usageExceeded &&
    (c.maxObjectSize === 0 || size <= c.maxObjectSize) &&
    availableBytes(c) >= size
  );
}

/**
 * How eligible backends are ordered: a routing strategy, or `free-space` (most free bytes
 * first, unlimited backends before all others) for bytes whose final size is not known yet — a
 * multipart upload — so they start where they are most likely to fit.
 */
export type PlacementOrder = RoutingStrategy | 'free-space';

function byFreeSpace(a: BackendCandidate, b: BackendCandidate): number {
  const fa = availableBytes(a);
  const fb = availableBytes(b);
  return fa === fb ? a.order - b.order : fb > fa ? 1 : -1;
}

/**
 * Backends that can take `size` bytes, best first: `pack` in configuration order (fill the
 * first, overflow to the next), `spread` by lowest utilisation, `free-space` by most free bytes.
 * The whole list is returned so a failed write can fail over to the next one.
 */
export function rankBackendsForWrite(
  order: PlacementOrder,
  candidates: readonly BackendCandidate[],
  size: number,
  exclude: ReadonlySet<string> = new Set(),
): BackendCandidate[] {
  const eligible = candidates.filter((c) => !exclude.has(c.name) && canTakeWrite(c, size));
  if (order === 'free-space') return eligible.sort(byFreeSpace);
  return eligible.sort((a, b) =>
    order === 'pack' ? a.order - b.order : utilisation(a) - utilisation(b) || a.order - b.order,
  );
}
