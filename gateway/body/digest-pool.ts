import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../domain/errors.js';

/**
 * The worker's code, run as a script (eval) so it needs no file of its own next to the compiled
 * module nor a loader for TypeScript under test. Jobs: s(tart) with algorithms, u(pdate) with a
 * batch (its first n bytes; a shared slot's flag f is cleared once hashed), e(nd) answers the
 * digests in algorithm order, a(bort) forgets the job.
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
    if (m.f) Atomics.store(m.f, 0, 0);
  }
  else if (m.t === 'e') { const hs = jobs.get(m.id); jobs.delete(m.id); parentPort.postMessage({ id: m.id, d: hs.map((h) => h.digest()) }); }
  else if (m.t === 'a') jobs.delete(m.id);
});
`;

/** Bytes sent to a worker per message: posting one costs ~15–80 µs, the MD5 of 1 MiB ~1.4 ms. */
export const DIGEST_BATCH = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * Shared batch buffers kept for reuse: a worker trails a stream by a batch or two, by eight on a
 * loaded machine. A slot whose worker died busy stays busy (a fresh buffer is used instead).
 */
const MAX_SLOTS = 8;

/** Bytes for a worker: a shared slot and its busy flag, or a buffer of its own to transfer. */
interface Batch {
  buffer: ArrayBufferLike;
  size: number;
  flag?: Int32Array;
}

interface Pending {
  resolve: (digests: Buffer[]) => void;
  reject: (e: Error) => void;
}

const workerFailed = (): DomainError => new DomainError('InternalError', 'The body digest worker failed.');

/** One worker and the jobs it holds; ref'd only while it has any, so it never keeps the process alive. */
class DigestWorker {
  private readonly worker: Worker;
  /** Jobs started and not yet answered or aborted; the ended ones wait in `pending`. */
  jobs = 0;
  private readonly pending = new Map<number, Pending>();
  dead = false;

  constructor(source: string, private readonly onDead: (w: DigestWorker) => void) {
    this.worker = new Worker(source, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; d: Uint8Array[] }) => {
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

  update(id: number, batch: Batch): void {
    if (batch.flag !== undefined) this.post({ t: 'u', id, b: batch.buffer, n: batch.size, f: batch.flag });
    else this.post({ t: 'u', id, b: batch.buffer, n: batch.size }, [batch.buffer as ArrayBuffer]);
  }

  end(id: number): Promise<Buffer[]> {
    if (this.dead) return Promise.reject(workerFailed());
    return new Promise<Buffer[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ t: 'e', id });
    });
  }

  abort(id: number): void {
    this.release();
    this.post({ t: 'a', id });
  }

  private release(): void {
    if (--this.jobs === 0 && !this.dead) this.worker.unref();
  }

  private post(message: object, transfer: ArrayBuffer[] = []): void {
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
  }
}

/** A job's handle: batches in, the digests (in `algs` order) out; `abort` when the body fails. */
export interface DigestJob {
  /** Copies the slices (`size` bytes, at most DIGEST_BATCH) for the worker: they flow on downstream. */
  update(slices: Buffer[], size: number): void;
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
  private readonly slots: { buffer: SharedArrayBuffer; data: Buffer; flag: Int32Array }[] = [];
  private nextId = 0;

  constructor(private readonly size = Math.max(1, Math.min(2, availableParallelism() - 1)), private readonly source = DIGEST_WORKER_SOURCE) {}

  start(algs: string[]): DigestJob {
    const worker = this.pick();
    const id = this.nextId++;
    worker.start(id, algs);
    let done = false;
    return {
      update: (slices, size) => {
        if (!done) worker.update(id, this.batchOf(slices, size));
      },
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

  /**
   * A batch in a shared slot the worker frees by clearing its flag: reused, its pages stay mapped
   * (copying 1 MiB into a fresh buffer cost 237 µs, mostly page faults; into a reused one 28). With
   * every slot busy, a fresh buffer is transferred instead.
   */
  private batchOf(slices: Buffer[], size: number): Batch {
    let slot = this.slots.find((s) => Atomics.load(s.flag, 0) === 0);
    if (slot === undefined && this.slots.length < MAX_SLOTS) {
      const buffer = new SharedArrayBuffer(DIGEST_BATCH);
      slot = { buffer, data: Buffer.from(buffer), flag: new Int32Array(new SharedArrayBuffer(4)) };
      this.slots.push(slot);
    }
    const data = slot?.data ?? Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const s of slices) at += s.copy(data, at);
    if (slot === undefined) return { buffer: data.buffer, size };
    Atomics.store(slot.flag, 0, 1);
    return { buffer: slot.buffer, size, flag: slot.flag };
  }

  private pick(): DigestWorker {
    let best: DigestWorker | undefined;
    for (const w of this.workers) if (best === undefined || w.jobs < best.jobs) best = w;
    if (best !== undefined && (best.jobs === 0 || this.workers.length >= this.size)) return best;
    const worker = new DigestWorker(this.source, (dead) => {
      const i = this.workers.indexOf(dead);
      if (i >= 0) this.workers.splice(i, 1);
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
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private job: DigestJob | undefined;

  constructor(private readonly pool: DigestPool, private readonly algs: string[]) {}

  update(slice: Buffer): void {
    let rest = slice;
    while (rest.length > 0) {
      const room = DIGEST_BATCH - this.pendingBytes;
      const part = rest.length <= room ? rest : rest.subarray(0, room);
      this.pending.push(part);
      this.pendingBytes += part.length;
      rest = part === rest ? EMPTY : rest.subarray(part.length);
      if (this.pendingBytes === DIGEST_BATCH) this.flush();
    }
  }

  /** The digests in `algs` order, once every slice went through `update`. */
  digest(): Promise<Buffer[]> {
    if (this.job === undefined) {
      const digests = this.algs.map((alg) => {
        const hash = createHash(alg);
        for (const slice of this.pending) hash.update(slice);
        return hash.digest();
      });
      this.pending = [];
      return Promise.resolve(digests);
    }
    if (this.pendingBytes > 0) this.flush();
    return this.job.end();
  }

  /** Forgets the body (it failed or was cut off); its job's worker drops what it had. */
  abort(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.job?.abort();
  }

  private flush(): void {
    this.job ??= this.pool.start(this.algs);
    this.job.update(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
  }
}
