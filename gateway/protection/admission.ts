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
  /** The configured buckets, each guaranteed a part of every pool (read live: a reload may change them). */
  readonly buckets?: () => readonly string[];
}

const noBuckets: readonly string[] = [];

export type Admission =
  | { readonly admitted: true; readonly release: () => void }
  | { readonly admitted: false; readonly reason: 'capacity' | 'shed' };

const atCapacity: Admission = { admitted: false, reason: 'capacity' };
const shed: Admission = { admitted: false, reason: 'shed' };

interface Waiter {
  readonly bucket: string;
  grant(): void;
}

/**
 * A counting semaphore shared fairly between buckets. Each configured bucket is guaranteed half
 * its equal share of the pool (capacity / buckets / 2, rounded down): those slots are kept free
 * for it while it holds fewer, so a tenant holding many slow requests can make another tenant
 * wait or be refused only once that one is past its guarantee. Beyond its guarantee a bucket
 * borrows whatever else is idle. A freed slot goes to the waiting request whose bucket holds the
 * fewest slots (the oldest of those), so a bucket never gains slots while one holding fewer waits.
 * Requests of no configured bucket (ListBuckets, unknown names) have no guarantee.
 */
class SlotPool {
  inUse = 0;
  private readonly held = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  /** Recomputed when the configured buckets change (a reload replaces the list). */
  private configured: { list: readonly string[]; names: ReadonlySet<string>; guaranteed: number; deficit: number } | undefined;

  constructor(readonly capacity: number, private readonly buckets: () => readonly string[]) {}

  heldBy(bucket: string): number {
    return this.held.get(bucket) ?? 0;
  }

  /** Takes a slot for `bucket` if one is free beyond those kept for other buckets. */
  tryTake(bucket: string): boolean {
    if (!this.canTake(bucket)) return false;
    this.take(bucket);
    return true;
  }

  release(bucket: string): void {
    const c = this.current();
    const held = this.heldBy(bucket) - 1;
    if (held > 0) this.held.set(bucket, held);
    else this.held.delete(bucket);
    this.inUse -= 1;
    if (c.names.has(bucket) && held < c.guaranteed) c.deficit += 1;
    this.grantWaiters();
  }

  /** Resolves true with a slot taken for `bucket`, false after `ms` or when `signal` aborts. */
  wait(bucket: string, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const giveUp = () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(false);
      };
      const waiter: Waiter = {
        bucket,
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

  private canTake(bucket: string): boolean {
    const c = this.current();
    const own = c.names.has(bucket) ? Math.max(0, c.guaranteed - this.heldBy(bucket)) : 0;
    return this.capacity - this.inUse - 1 >= c.deficit - own;
  }

  private take(bucket: string): void {
    const c = this.current();
    const held = this.heldBy(bucket);
    if (c.names.has(bucket) && held < c.guaranteed) c.deficit -= 1;
    this.held.set(bucket, held + 1);
    this.inUse += 1;
  }

  private grantWaiters(): void {
    for (;;) {
      let next: Waiter | undefined;
      for (const w of this.waiters) {
        if (this.canTake(w.bucket) && (next === undefined || this.heldBy(w.bucket) < this.heldBy(next.bucket))) next = w;
      }
      if (!next) return;
      this.waiters.delete(next);
      this.take(next.bucket);
      next.grant();
    }
  }

  private current(): { list: readonly string[]; names: ReadonlySet<string>; guaranteed: number; deficit: number } {
    const list = this.buckets();
    if (this.configured?.list !== list) {
      const names = new Set(list);
      const guaranteed = Math.floor(this.capacity / Math.max(1, names.size) / 2);
      let deficit = 0;
      for (const name of names) deficit += Math.max(0, guaranteed - this.heldBy(name));
      this.configured = { list, names, guaranteed, deficit };
    }
    return this.configured;
  }
}

const writeMethods = new Set(['PUT', 'POST', 'DELETE']);

/**
 * Bounds the requests served at once, fairly between buckets (see `SlotPool`). A request takes a
 * slot of its pool and gives it back by `release` (once the response is over); a full pool refuses
 * at once, or after `waitMs` without a freed slot. With a shed threshold t, a pool more than t × capacity busy refuses with probability
 * (in use − t·capacity) / (capacity − t·capacity): rising from 0 to 1 as it fills, so overload
 * degrades gradually instead of at a cliff. `random` is injectable for tests.
 */
export class AdmissionControl {
  private readonly shared: SlotPool | undefined;
  private readonly reads: SlotPool;
  private readonly writes: SlotPool;

  constructor(private readonly settings: AdmissionSettings, private readonly random: () => number = Math.random) {
    const buckets = settings.buckets ?? (() => noBuckets);
    if (settings.maxReads > 0 && settings.maxWrites > 0) {
      this.reads = new SlotPool(settings.maxReads, buckets);
      this.writes = new SlotPool(settings.maxWrites, buckets);
    } else {
      this.shared = new SlotPool(settings.maxConcurrent, buckets);
      this.reads = this.shared;
      this.writes = this.shared;
    }
  }

  get split(): boolean {
    return this.shared === undefined;
  }

  /** Slots in use by the pool `method` draws from (by one bucket's requests, when given). */
  inUse(method: string, bucket?: string): number {
    const pool = this.poolFor(method);
    return bucket === undefined ? pool.inUse : pool.heldBy(bucket);
  }

  /**
   * Admits a request of `bucket` ('' for none) now, or (no slot for it, `waitMs` > 0) when one
   * frees. `abandoned` is asked for a signal only when the request has to wait: it ends the wait
   * when the client goes away.
   */
  admit(method: string, bucket = '', abandoned?: () => AbortSignal): Admission | Promise<Admission> {
    const pool = this.poolFor(method);
    if (pool.inUse < pool.capacity && this.shouldShed(pool)) return shed;
    if (pool.tryTake(bucket)) return ticket(pool, bucket);
    if (this.settings.waitMs <= 0) return atCapacity;
    return pool.wait(bucket, this.settings.waitMs, abandoned?.()).then((granted) => (granted ? ticket(pool, bucket) : atCapacity));
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
function ticket(pool: SlotPool, bucket: string): Admission {
  let held = true;
  return {
    admitted: true,
    release: () => {
      if (!held) return;
      held = false;
      pool.release(bucket);
    },
  };
}
