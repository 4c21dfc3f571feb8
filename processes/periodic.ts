import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../infra/telemetry/logger.js';
import type { WorkerBoard } from './worker-board.js';

/**
 * Runs `tick` every `intervalMs()` (re-read each time, so reloads apply) until stopped; the
 * first run waits a random part of the interval unless `runAtStart`, so instances started
 * together do not run in lockstep. `kick()` runs it soon.
 */
export class Periodic {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: AbortController | undefined;
  private kicked = false;
  private board: WorkerBoard | undefined;

  constructor(
    readonly name: string,
    private readonly intervalMs: () => number,
    private readonly tick: () => Promise<unknown>,
    private readonly logger: Logger,
    private readonly opts: { runAtStart?: boolean; jitter?: boolean } = {},
  ) {}

  /** Records every run's outcome on `board` (admin workers, s3o_worker_* metrics). */
  reportTo(board: WorkerBoard): void {
    this.board = board;
    board.register(this.name);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  kick(): void {
    this.kicked = true;
    this.wake?.abort();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.abort();
    await this.loop;
  }

  private async pause(ms: number): Promise<void> {
    this.wake = new AbortController();
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    if (!this.opts.runAtStart) {
      await this.pause(this.opts.jitter === false ? this.intervalMs() : Math.random() * this.intervalMs() * 0.5);
    }
    while (this.running) {
      this.kicked = false;
      this.board?.started(this.name);
      try {
        await this.tick();
        this.board?.succeeded(this.name);
      } catch (err) {
        this.board?.failed(this.name, err);
        this.logger.warn({ err, worker: this.name }, 'worker tick failed');
      }
      if (!this.running) break;
      if (!this.kicked) await this.pause(this.intervalMs());
    }
  }
}
