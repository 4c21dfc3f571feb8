/** Admission control settings (`server.*`; they take effect at a restart). */
export interface AdmissionSettings {
  /** The one pool's size, when reads and writes are not split. */
  readonly maxConcurrent: number;
  /** Both > 0: separate pools for reads (GET, HEAD) and writes (PUT, POST, DELETE) instead of the one. */
  readonly maxReads: number;
  readonly maxWrites: number;
  /** 0 = off; in (0, 1): above this share of a pool in use, requests are shed with rising probability. */
  readonly shedThreshold: number;
  /** How long a request may wait for a slot of a full pool before it is refused; 0 = not at all. */
  readonly waitMs: number;
}

export type Admission =
  | { readonly admitted: true; readonly release: () => void }
  | { readonly admitted: false; readonly reason: 'capacity' | 'shed' };

const atCapacity: Admission = { admitted: false, reason: 'capacity' };
const shed: Admission = { admitted: false, reason: 'shed' };

interface Waiter {
  grant(): void;
}

/** A counting semaphore whose freed slots go to waiting requests first, oldest first. */
class SlotPool {
  inUse = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(readonly capacity: number) {}

  release(): void {
    const next = this.waiters.values().next();
    if (next.done) {
      this.inUse -= 1;
      return;
    }
    this.waiters.delete(next.value);
    next.value.grant();
  }

  /** Resolves true with a slot handed over, false after `ms` or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const giveUp = () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(false);
      };
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', giveUp);
          resolve(true);
        },
      };
      const timer = setTimeout(giveUp, ms);
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiters.add(waiter);
    });
  }
}

const writeMethods = new Set(['PUT', 'POST', 'DELETE']);

/**
 * Bounds the requests served at once. A request takes a slot of its pool and gives it back by
 * `release` (once the response is over); a full pool refuses at once, or after `waitMs` without a
 * freed slot. With a shed threshold t, a pool more than t × capacity busy refuses with probability
 * (in use − t·capacity) / (capacity − t·capacity): rising from 0 to 1 as it fills, so overload
 * degrades gradually instead of at a cliff. `random` is injectable for tests.
 */
export class AdmissionControl {
  private readonly shared: SlotPool | undefined;
  private readonly reads: SlotPool;
  private readonly writes: SlotPool;

  constructor(private readonly settings: AdmissionSettings, private readonly random: () => number = Math.random) {
    if (settings.maxReads > 0 && settings.maxWrites > 0) {
      this.reads = new SlotPool(settings.maxReads);
      this.writes = new SlotPool(settings.maxWrites);
    } else {
      this.shared = new SlotPool(settings.maxConcurrent);
      this.reads = this.shared;
      this.writes = this.shared;
    }
  }

  get split(): boolean {
    return this.shared === undefined;
  }

  /** Slots in use by the pool `method` draws from. */
  inUse(method: string): number {
    return this.poolFor(method).inUse;
  }

  /**
   * Admits a request now, or (full pool, `waitMs` > 0) when a slot frees. `abandoned` is asked
   * for a signal only when the request has to wait: it ends the wait when the client goes away.
   */
  admit(method: string, abandoned?: () => AbortSignal): Admission | Promise<Admission> {
    const pool = this.poolFor(method);
    if (pool.inUse < pool.capacity) {
      if (this.shouldShed(pool)) return shed;
      pool.inUse += 1;
      return ticket(pool);
    }
    if (this.settings.waitMs <= 0) return atCapacity;
    return pool.wait(this.settings.waitMs, abandoned?.()).then((granted) => (granted ? ticket(pool) : atCapacity));
  }

  private shouldShed(pool: SlotPool): boolean {
    const t = this.settings.shedThreshold;
    if (t <= 0) return false;
    const start = t * pool.capacity;
    if (pool.inUse <= start) return false;
    return this.random() < (pool.inUse - start) / (pool.capacity - start);
  }

  private poolFor(method: string): SlotPool {
    return writeMethods.has(method) ? this.writes : this.reads;
  }
}

/** A slot, given back once however often `release` is called. */
function ticket(pool: SlotPool): Admission {
  let held = true;
  return {
    admitted: true,
    release: () => {
      if (!held) return;
      held = false;
      pool.release();
    },
  };
}
