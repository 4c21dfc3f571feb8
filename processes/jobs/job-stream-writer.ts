import { evolveAll } from '../../domain/decider.js';
import { ConcurrencyError } from '../../domain/eventstore/errors.js';
import type { AppendResult, EventStore, StreamAppend } from '../../domain/eventstore/port.js';
import { checkpointDue, decideJob, type JobCommand } from '../../domain/jobs/job-decider.js';
import { evolveJob, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import type { Appender } from '../../services/commands/handle-command.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import { catchUpJob } from '../../services/jobs/job-stream.js';
import type { JobRecorder } from '../../services/moves/job-recorder.js';

export class JobOwnershipLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was written by another owner; stopping here`);
    this.name = 'JobOwnershipLostError';
  }
}

/**
 * The owner's side of a job stream: it keeps the job's state in memory, folding in what it
 * appends (and, on `catchUp`, what others appended), so a long job never reads its own history
 * back. Appends are serialised and fenced by the stream revision; every `checkpointEvery` events
 * a JobCheckpointed goes with them, so whoever resumes the job reads a bounded tail.
 */
export class JobStreamWriter implements JobRecorder {
  private tail: Promise<unknown> = Promise.resolve();
  #state: JobState;

  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
    /** Who the job's events are recorded as: `system:<kind>`, correlated by the job id. */
    readonly cause: Cause,
    state: JobState,
  ) {
    this.#state = state;
  }

  get jobId(): string {
    return this.#state.jobId;
  }

  /** The job as of the owner's last append or catch-up. */
  get state(): JobState {
    return this.#state;
  }

  /** Folds in what was appended by others since (an operator's cancel, another owner's steps). */
  catchUp(): Promise<JobState> {
    return this.serialised(async () => {
      this.#state = await catchUpJob(this.store, this.#state);
      return this.#state;
    });
  }

  record(command: JobCommand, others: readonly StreamAppend[] = []): Promise<AppendResult[]> {
    return this.serialised(async () => {
      const decided = decideJob(command, this.#state);
      if (decided.length === 0) return [];
      let next = evolveAll(evolveJob, this.#state, decided, this.events.now().toISOString());
      const checkpoint = checkpointDue(next) ? decideJob({ type: 'Checkpoint' }, next) : [];
      next = evolveAll(evolveJob, next, checkpoint, this.events.now().toISOString());
      const streamId = jobStreamId(this.jobId);
      const jobEvents = [...decided, ...checkpoint].map((e) => this.events.record(e, this.cause));
      try {
        const results = await this.store.appendToStreams([{ streamId, events: jobEvents, expected: this.#state.revision }, ...others]);
        const mine = results.find((r) => r.streamId === streamId);
        this.#state = mine ? { ...next, revision: mine.nextRevision } : next;
        return results;
      } catch (err) {
        if (err instanceof ConcurrencyError && err.streamId === streamId) throw new JobOwnershipLostError(this.jobId);
        throw err;
      }
    });
  }

  /** Appends `command`'s step with whatever is appended through this (a handled command on another stream). */
  appenderFor(command: JobCommand): Appender {
    return { appendToStreams: (appends) => this.record(command, appends) };
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
