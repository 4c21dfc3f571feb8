import type { Logger } from '../../infra/telemetry/logger.js';

/** Jobs remembered at most: older ones are forgotten (a job that ran that long ago logs again). */
const rememberedJobs = 64;

/**
 * Backends a job found without room, so each is logged once per job in one line rather than
 * once per refused move (a drain of thousands of copies onto a full target would flood the log).
 */
export class FullTargets {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly logger: Logger) {}

  /** `backend` refused a move's reservation; undefined: no eligible backend had room at all. */
  note(jobId: string, backend: string | undefined): void {
    let backends = this.seen.get(jobId);
    if (!backends) {
      if (this.seen.size >= rememberedJobs) this.seen.delete(this.seen.keys().next().value as string);
      backends = new Set();
      this.seen.set(jobId, backends);
    }
    const key = backend ?? '';
    if (backends.has(key)) return;
    backends.add(key);
    if (backend === undefined) this.logger.warn({ jobId }, 'no eligible backend has room for the job\'s moves; they are retried later');
    else this.logger.warn({ jobId, backend }, `move target ${backend} is full; the job's moves go to other backends`);
  }
}
