import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { EventStore, NewEvent, StreamAppend } from '../../domain/eventstore/port.js';
import { jobStreamId } from '../../domain/jobs/job-state.js';
import type { JobRecorder } from '../../services/moves/job-recorder.js';

export class JobOwnershipLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was written by another owner; stopping here`);
    this.name = 'JobOwnershipLostError';
  }
}

/** A JobRecorder that serialises this owner's appends and fences them by stream revision. */
export class JobStreamWriter implements JobRecorder {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    readonly jobId: string,
    private revision: bigint | 'no_stream',
  ) {}

  record(jobEvents: readonly NewEvent[], others: readonly StreamAppend[] = []): Promise<void> {
    const next = this.tail.then(async () => {
      const streamId = jobStreamId(this.jobId);
      try {
        const results = await this.store.appendToStreams([{ streamId, events: jobEvents, expected: this.revision }, ...others]);
        const mine = results.find((r) => r.streamId === streamId);
        if (mine) this.revision = mine.nextRevision;
      } catch (err) {
        if (err instanceof ConcurrencyError && err.streamId === streamId) throw new JobOwnershipLostError(this.jobId);
        throw err;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}
