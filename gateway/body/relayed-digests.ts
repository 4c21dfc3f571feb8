import { createHash } from 'node:crypto';
import { DIGEST_BATCH, type DigestJob, type DigestPool } from './digest-pool.js';

/** Where a relayed body's bytes go once hashed, in order; `failed` ends it when they cannot. */
export interface RelaySink {
  data(bytes: Buffer): void;
  failed(error: Error): void;
}

/**
 * Slices at least this long whose ArrayBuffer they span whole (a socket read's chunk) are handed
 * over as they are; shorter ones or parts of a larger buffer are copied into a staging buffer.
 */
const MIN_HANDED_OVER = 4096;
const STAGE = 64 * 1024;

/**
 * Crypto digests of a body whose bytes pass through a worker on their way downstream: a batch of
 * slices (~DIGEST_BATCH bytes) is transferred to the worker, hashed there and transferred back,
 * then handed to the sink. Unlike `OffloadedDigests` nothing is copied for the worker (on a 64 MiB
 * PUT that copy was the main thread's largest item), but the slices must be the caller's to give
 * away: nothing else may read or keep them. A body that ends before its first batch is full is
 * hashed here at the end and never waits on a worker. Should the worker fail, the bytes it held
 * are lost: the sink is told (InternalError) and the body cannot end cleanly.
 */
export class RelayedDigests {
  private buffers: ArrayBuffer[] = [];
  private sizes: number[] = [];
  private bytes = 0;
  private stage: Uint8Array | undefined;
  private staged = 0;
  private job: DigestJob | undefined;
  /** Bytes with the worker, not back yet. */
  inFlight = 0;
  /** The last exchange's handing on: every earlier one has been handed on once it settles. */
  private last: Promise<void> = Promise.resolve();
  private error: Error | undefined;
  private aborted = false;

  constructor(private readonly pool: DigestPool, private readonly algs: string[], private readonly sink: RelaySink) {}

  /** Takes `slice` over: the caller neither reads nor keeps it afterwards. */
  update(slice: Buffer): void {
    if (this.aborted || slice.length === 0) return;
    const whole = slice.byteOffset === 0 && slice.byteLength === slice.buffer.byteLength;
    if (whole && slice.length >= MIN_HANDED_OVER && slice.buffer instanceof ArrayBuffer && !this.buffers.includes(slice.buffer)) {
      this.closeStage();
      this.add(slice.buffer, slice.length);
    } else {
      this.copy(slice);
    }
    if (this.bytes >= DIGEST_BATCH) this.send();
  }

  /** The digests in `algs` order once every byte was handed on; rejects (InternalError) if the worker failed. */
  async digest(): Promise<Buffer[]> {
    this.closeStage();
    if (this.job === undefined) {
      const hashes = this.algs.map((alg) => createHash(alg));
      this.buffers.forEach((b, i) => {
        const bytes = Buffer.from(b, 0, this.sizes[i] as number);
        for (const h of hashes) h.update(bytes);
        this.sink.data(bytes);
      });
      this.buffers = [];
      return hashes.map((h) => h.digest());
    }
    if (this.bytes > 0) this.send();
    await this.last;
    if (this.error !== undefined) throw this.error;
    return this.job.end();
  }

  /** Forgets the body (it failed or was cut off): what the worker still holds is never handed on. */
  abort(): void {
    this.aborted = true;
    this.buffers = [];
    this.stage = undefined;
    this.job?.abort();
  }

  private add(buffer: ArrayBuffer, size: number): void {
    this.buffers.push(buffer);
    this.sizes.push(size);
    this.bytes += size;
  }

  private copy(slice: Buffer): void {
    let at = 0;
    while (at < slice.length) {
      this.stage ??= new Uint8Array(STAGE);
      const n = Math.min(slice.length - at, STAGE - this.staged);
      this.stage.set(slice.subarray(at, at + n), this.staged);
      this.staged += n;
      at += n;
      if (this.staged === STAGE) this.closeStage();
    }
  }

  private closeStage(): void {
    if (this.stage === undefined || this.staged === 0) return;
    this.add(this.stage.buffer as ArrayBuffer, this.staged);
    this.stage = undefined;
    this.staged = 0;
  }

  private send(): void {
    const { buffers, sizes, bytes } = this;
    this.buffers = [];
    this.sizes = [];
    this.bytes = 0;
    this.job ??= this.pool.start(this.algs);
    this.inFlight += bytes;
    // Exchanges resolve in the order they were sent, so each is handed on after the one before.
    this.last = this.job.exchange(buffers, sizes).then((back) => {
      this.inFlight -= bytes;
      if (this.aborted || this.error !== undefined) return;
      back.forEach((b, i) => this.sink.data(Buffer.from(b, 0, sizes[i] as number)));
    }, (e: unknown) => {
      if (this.aborted || this.error !== undefined) return;
      this.error = e as Error;
      this.sink.failed(this.error);
    });
  }
}
