import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../domain/errors.js';

/**
 * The worker's code, run as a script (eval) so it needs no file of its own next to the compiled
 * module nor a loader for TypeScript under test. Jobs: s(tart) with algorithms, u(pdate) with a
 * batch (its first n bytes of a shared slot whose flag f is cleared once hashed, then the pool's
 * counter of freed slots c is bumped and notified), (e)x(change) with buffers b transferred to it
 * (the first n[i] bytes of each hashed) that it transfers back, e(nd) answers the digests in
 * algorithm order, a(bort) forgets the job.
 */
export const DIGEST_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.t === 's') jobs.set(m.id, m.algs.map((a) => createHash(a)));
  else if (m.t === 'u') {
    const hs = jobs.get(m.id);
    if (hs) { const b = new Uint8Array(m.b, 0, m.n); for (const h of hs) h.update(b); }
    if (m.f) { Atomics.store(m.f, 0, 0); Atomics.add(m.c, 0, 1); Atomics.notify(m.c, 0); }
  }
  else if (m.t === 'x') {
    const hs = jobs.get(m.id);
    if (hs) m.b.forEach((b, i) => { const u = new Uint8Array(b, 0, m.n[i]); for (const h of hs) h.update(u); });
    parentPort.postMessage({ id: m.id, b: m.b }, m.b);
  }
  else if (m.t === 'e') { const hs = jobs.get(m.id); jobs.delete(m.id); parentPort.postMessage({ id: m.id, d: hs.map((h) => h.digest()) }); }
  else if (m.t === 'a') jobs.delete(m.id);
});
`;

/** Bytes sent to a worker per message: posting one costs ~15–80 µs, the MD5 of 1 MiB ~1.4 ms. */
export const DIGEST_BATCH = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * Shared batch buffers, kept for reuse: their pages stay mapped (copying 1 MiB into a fresh buffer
 * cost 237 µs, mostly page faults; into a reused one 28–76). They bound what waits for the workers:
 * with all of them busy a body waits (see `OffloadedDigests.backlog`).
 */
const MAX_SLOTS = 4;
/** Rechecks the slots this often while waiting, should a wake-up be missed. */
const SLOT_WAIT_MS = 1000;

interface Slot {
  buffer: SharedArrayBuffer;
  data: Buffer;
  /** 1 while a worker holds the slot; the worker clears it, then bumps the pool's freed counter. */
  flag: Int32Array;
  owner: DigestWorker | undefined;
}

/** Atomics.waitAsync (Node ≥ 16), which the ES2023 lib does not declare. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (e: Error) => void;
}

const workerFailed = (): DomainError => new DomainError('InternalError', 'The body digest worker failed.');

/** One worker and the jobs it holds; ref'd only while it has any, so it never keeps the process alive. */
class DigestWorker {
  private readonly worker: Worker;
  /** Jobs started and not yet answered or aborted; the ended ones wait in `pending`. */
  jobs = 0;
  private readonly pending = new Map<number, Pending<Buffer[]>>();
  /** Each job's exchanged buffers on their way back, in the order they were sent. */
  private readonly exchanges = new Map<number, Pending<ArrayBuffer[]>[]>();
  dead = false;

  constructor(source: string, private readonly onDead: (w: DigestWorker) => void) {
    this.worker = new Worker(source, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; d: Uint8Array[]; b?: ArrayBuffer[] }) => {
      if (m.b !== undefined) {
        this.exchanges.get(m.id)?.shift()?.resolve(m.b);
        return;
      }
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      this.release();
      p.resolve(m.d.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
    });
    this.worker.on('error', () => this.die());
    this.worker.on('exit', () => this.die());
  }

  start(id: number, algs: string[]): void {
    if (this.jobs++ === 0) this.worker.ref();
    this.post({ t: 's', id, algs });
  }

  update(id: number, slot: Slot, size: number, freed: Int32Array): void {
    this.post({ t: 'u', id, b: slot.buffer, n: size, f: slot.flag, c: freed });
  }

  /** Hands `buffers` over (transferred, not copied) to be hashed; resolves with them once hashed. */
  exchange(id: number, buffers: ArrayBuffer[], sizes: number[]): Promise<ArrayBuffer[]> {
    if (this.dead) return Promise.reject(workerFailed());
    return new Promise<ArrayBuffer[]>((resolve, reject) => {
      let queue = this.exchanges.get(id);
      if (queue === undefined) this.exchanges.set(id, (queue = []));
      queue.push({ resolve, reject });
      this.post({ t: 'x', id, b: buffers, n: sizes }, buffers);
    });
  }

  end(id: number): Promise<Buffer[]> {
    this.exchanges.delete(id);
    if (this.dead) return Promise.reject(workerFailed());
    return new Promise<Buffer[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ t: 'e', id });
    });
  }

  abort(id: number): void {
    this.exchanges.delete(id);
    this.release();
    this.post({ t: 'a', id });
  }

  private release(): void {
    if (--this.jobs === 0 && !this.dead) this.worker.unref();
  }

  private post(message: object, transfer?: ArrayBuffer[]): void {
    if (this.dead) return;
    try {
      this.worker.postMessage(message, transfer);
    } catch {
      this.die();
    }
  }

  private die(): void {
    if (this.dead) return;
    this.dead = true;
    this.onDead(this);
    void this.worker.terminate();
    for (const p of this.pending.values()) p.reject(workerFailed());
    this.pending.clear();
    for (const queue of this.exchanges.values()) for (const p of queue) p.reject(workerFailed());
    this.exchanges.clear();
  }
}

/** A job's handle: batches in, the digests (in `algs` order) out; `abort` when the body fails. */
export interface DigestJob {
  /**
   * Copies the slices (`size` bytes, at most DIGEST_BATCH; they flow on downstream) into a free
   * slot for the worker; false, sending nothing, when every slot is busy.
   */
  update(slices: Buffer[], size: number): boolean;
  /**
   * Transfers the buffers (the first `sizes[i]` bytes of each are hashed) to the worker; resolves
   * with them, transferred back, once hashed; rejects (InternalError) if the worker failed.
   */
  exchange(buffers: ArrayBuffer[], sizes: number[]): Promise<ArrayBuffer[]>;
  end(): Promise<Buffer[]>;
  abort(): void;
}

/**
 * Worker threads that compute crypto digests (MD5, SHA-*) of streamed bodies, off the main
 * thread: on a 64 MiB PUT the client body's MD5 was ~30 % of the gateway's main thread, which is
 * what bounds a single-stream PUT. Workers start on first use and are reused; a job goes to the
 * least busy one. A worker that fails fails its jobs (InternalError) and is replaced on next use.
 */
export class DigestPool {
  private readonly workers: DigestWorker[] = [];
  private readonly slots: Slot[] = [];
  private nextId = 0;
  /** Counts slots freed (by a worker or a worker's death): a waiting body wakes on any of them. */
  private readonly freed = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly size = Math.max(1, Math.min(2, availableParallelism() - 1)),
    private readonly source = DIGEST_WORKER_SOURCE,
    private readonly recheckMs = SLOT_WAIT_MS,
  ) {}

  start(algs: string[]): DigestJob {
    const worker = this.pick();
    const id = this.nextId++;
    worker.start(id, algs);
    let done = false;
    return {
      update: (slices, size) => {
        if (done) return true;
        const slot = this.freeSlot();
        if (slot === undefined) return false;
        let at = 0;
        for (const s of slices) at += s.copy(slot.data, at);
        Atomics.store(slot.flag, 0, 1);
        slot.owner = worker;
        worker.update(id, slot, size, this.freed);
        return true;
      },
      exchange: (buffers, sizes) => worker.exchange(id, buffers, sizes),
      end: () => {
        done = true;
        return worker.end(id);
      },
      abort: () => {
        if (done) return;
        done = true;
        worker.abort(id);
      },
    };
  }

  private freeSlot(): Slot | undefined {
    const free = this.slots.find((s) => Atomics.load(s.flag, 0) === 0);
    if (free !== undefined || this.slots.length >= MAX_SLOTS) return free;
    const buffer = new SharedArrayBuffer(DIGEST_BATCH);
    const slot: Slot = { buffer, data: Buffer.from(buffer), flag: new Int32Array(new SharedArrayBuffer(4)), owner: undefined };
    this.slots.push(slot);
    return slot;
  }

  /** Resolves once some slot may be free again (its worker hashed it or died), whichever slot it is. */
  slotFreed(): Promise<void> {
    // Read before looking at the slots: a slot freed after the look changes it, and the wait returns at once.
    const seen = Atomics.load(this.freed, 0);
    if (this.slots.length < MAX_SLOTS || this.slots.some((s) => Atomics.load(s.flag, 0) === 0)) return Promise.resolve();
    const { value } = waitAsync(this.freed, 0, seen, this.recheckMs);
    return typeof value === 'string' ? Promise.resolve() : value.then(() => undefined);
  }

  private pick(): DigestWorker {
    let best: DigestWorker | undefined;
    for (const w of this.workers) if (best === undefined || w.jobs < best.jobs) best = w;
    if (best !== undefined && (best.jobs === 0 || this.workers.length >= this.size)) return best;
    const worker = new DigestWorker(this.source, (dead) => {
      const i = this.workers.indexOf(dead);
      if (i >= 0) this.workers.splice(i, 1);
      for (const slot of this.slots) {
        if (slot.owner !== dead) continue;
        Atomics.store(slot.flag, 0, 0);
        Atomics.add(this.freed, 0, 1);
      }
      Atomics.notify(this.freed, 0);
    });
    this.workers.push(worker);
    return worker;
  }
}

/**
 * Crypto digests of a streamed body, fed slice by slice. Slices are gathered (by reference: they
 * flow on unchanged) and copied for a worker a batch at a time; a body that ends before its first
 * batch is full is hashed here at the end, so small bodies never wait on a worker.
 */
export class OffloadedDigests {
  private current: Buffer[] = [];
  private currentBytes = 0;
  /** Full batches no slot was free for yet. */
  private waiting: { slices: Buffer[]; size: number }[] = [];
  private job: DigestJob | undefined;
  private aborted = false;

  constructor(private readonly pool: DigestPool, private readonly algs: string[]) {}

  update(slice: Buffer): void {
    let rest = slice;
    while (rest.length > 0) {
      const room = DIGEST_BATCH - this.currentBytes;
      const part = rest.length <= room ? rest : rest.subarray(0, room);
      this.current.push(part);
      this.currentBytes += part.length;
      rest = part === rest ? EMPTY : rest.subarray(part.length);
      if (this.currentBytes === DIGEST_BATCH) this.close();
    }
    this.send();
  }

  /**
   * Resolves once every full batch is with a worker; undefined when none waits. The stream waits
   * on it, so a worker that falls behind slows the body down instead of its batches piling up.
   */
  backlog(): Promise<void> | undefined {
    return this.waiting.length === 0 ? undefined : this.drain();
  }

  /** The digests in `algs` order, once every slice went through `update`. */
  async digest(): Promise<Buffer[]> {
    if (this.job === undefined && this.waiting.length === 0) {
      const digests = this.algs.map((alg) => {
        const hash = createHash(alg);
        for (const slice of this.current) hash.update(slice);
        return hash.digest();
      });
      this.current = [];
      return digests;
    }
    if (this.currentBytes > 0) this.close();
    await this.drain();
    return (this.job as DigestJob).end();
  }

  /** Forgets the body (it failed or was cut off); its job's worker drops what it had. */
  abort(): void {
    this.aborted = true;
    this.current = [];
    this.waiting = [];
    this.job?.abort();
  }

  private close(): void {
    this.waiting.push({ slices: this.current, size: this.currentBytes });
    this.current = [];
    this.currentBytes = 0;
  }

  private send(): void {
    while (!this.aborted && this.waiting[0] !== undefined) {
      const { slices, size } = this.waiting[0];
      this.job ??= this.pool.start(this.algs);
      if (!this.job.update(slices, size)) return;
      this.waiting.shift();
    }
  }

  private async drain(): Promise<void> {
    this.send();
    while (!this.aborted && this.waiting.length > 0) {
      await this.pool.slotFreed();
      this.send();
    }
  }
}
