import { evolveAll } from '../../domain/decider.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { AppendResult, EventStore, NewEvent, StreamAppend } from '../../domain/eventstore/port.js';
import { checkpointDue, decideJob, type JobCommand } from '../../domain/jobs/job-decider.js';
import { evolveJob, jobStreamId, type JobState } from '../../domain/jobs/job-state.js';
import type { Appender } from '../../services/commands/handle-command.js';
import type { Cause, EventFactory } from '../../services/event-factory.js';
import { catchUpJob } from '../../services/jobs/job-stream.js';
import { JobOwnershipLostError, type JobRecorder } from '../../services/moves/job-recorder.js';

interface Pending {
  command: JobCommand;
  others: readonly StreamAppend[];
  resolve(results: AppendResult[]): void;
  reject(err: unknown): void;
}

/** Steps recorded in one append at most; more wait for the next. */
const maxBatch = 64;

/**
 * The owner's side of a job stream: it keeps the job's state in memory, folding in what it
 * appends (and, on `catchUp`, what others appended), so a long job never reads its own history
 * back. Appends are serialised and fenced by the stream revision; every `checkpointEvery` events
 * a JobCheckpointed goes with them, so whoever resumes the job reads a bounded tail.
 *
 * Steps recorded while an append is committing (a drain's concurrent moves) are decided one
 * after the other on the state and appended together, with the other streams' events they carry,
 * as one transaction: one commit for many moves instead of one each. When that append is refused
 * (an object changed, a target is full) nothing of it committed; the refused step is found and
 * appended alone, so each step gets its own outcome exactly as if it had been recorded by itself.
 */
export class JobStreamWriter implements JobRecorder {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pending: Pending[] = [];
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
    return new Promise((resolve, reject) => {
      // The first step queued schedules the flush; steps queued before it runs join it.
      if (this.pending.push({ command, others, resolve, reject }) === 1) void this.serialised(() => this.flush());
    });
  }

  /** Appends `command`'s step with whatever is appended through this (a handled command on another stream). */
  appenderFor(command: JobCommand): Appender {
    return { appendToStreams: (appends) => this.record(command, appends) };
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) await this.appendSteps(takeBatch(this.pending));
  }

  /**
   * Appends `steps` together. A refusal fails the whole transaction, so the step it names (a
   * revision conflict on its stream) goes alone and the others together again; a refusal that
   * names no single step (a full target) splits the steps in halves, down to one each.
   */
  private async appendSteps(steps: readonly Pending[]): Promise<void> {
    const [first] = steps;
    if (steps.length === 1 && first) return this.appendAlone(first);
    const refused = await this.appendTogether(steps);
    if (!refused) return;
    const { retry, err } = refused;
    const guilty = err instanceof ConcurrencyError ? retry.filter((s) => s.others.some((o) => o.streamId === err.streamId)) : [];
    const [named] = guilty;
    if (guilty.length === 1 && named) {
      await this.appendAlone(named);
      if (retry.length > 1) await this.appendSteps(retry.filter((s) => s !== named));
      return;
    }
    const half = Math.ceil(retry.length / 2);
    await this.appendSteps(retry.slice(0, half));
    if (retry.length > half) await this.appendSteps(retry.slice(half));
  }

  /** One step by itself: its outcome is its own. */
  private async appendAlone(step: Pending): Promise<void> {
    try {
      const decided = this.decide(this.#state, step.command);
      step.resolve(decided ? await this.append(decided.next, decided.events, step.others) : []);
    } catch (err) {
      step.reject(err);
    }
  }

  /**
   * The steps of `batch` in one append. When that append is refused as a whole (nothing
   * committed), returns the steps to append again and the refusal; any other failure is every step's.
   */
  private async appendTogether(batch: readonly Pending[]): Promise<{ retry: Pending[]; err: Error } | undefined> {
    let state = this.#state;
    const events: NewEvent[] = [];
    const others: StreamAppend[] = [];
    const decided: { step: Pending; others: readonly StreamAppend[] }[] = [];
    const empty: Pending[] = [];
    for (const step of batch) {
      try {
        const d = this.decide(state, step.command);
        if (!d) {
          empty.push(step);
          continue;
        }
        state = d.next;
        events.push(...d.events);
        others.push(...step.others);
        decided.push({ step, others: step.others });
      } catch (err) {
        step.reject(err);
      }
    }
    if (decided.length === 0) {
      for (const step of empty) step.resolve([]);
      return undefined;
    }
    let results: AppendResult[];
    try {
      results = await this.append(state, events, others);
    } catch (err) {
      if (!(err instanceof JobOwnershipLostError) && (err instanceof ConcurrencyError || err instanceof InvariantViolationError)) {
        return { retry: batch.filter((step) => empty.includes(step) || decided.some((d) => d.step === step)), err };
      }
      for (const step of [...empty, ...decided.map((d) => d.step)]) step.reject(err);
      return undefined;
    }
    // The state those steps decided nothing on is the committed one now.
    for (const step of empty) step.resolve([]);
    const streamId = jobStreamId(this.jobId);
    for (const d of decided) d.step.resolve(results.filter((r) => r.streamId === streamId || d.others.some((o) => o.streamId === r.streamId)));
    return undefined;
  }

  /** The events `command` decides on `state` (with a checkpoint when one is due) and the state after them; undefined when none. */
  private decide(state: JobState, command: JobCommand): { events: NewEvent[]; next: JobState } | undefined {
    // Ended by someone else (an operator's cancel) since the owner looked: its steps stop here.
    if (state.status !== 'running') throw new JobOwnershipLostError(this.jobId);
    const decided = decideJob(command, state);
    if (decided.length === 0) return undefined;
    const now = this.events.now().toISOString();
    let next = evolveAll(evolveJob, state, decided, now);
    const checkpoint = checkpointDue(next) ? decideJob({ type: 'Checkpoint' }, next) : [];
    next = evolveAll(evolveJob, next, checkpoint, now);
    return { events: [...decided, ...checkpoint].map((e) => this.events.record(e, this.cause)), next };
  }

  /** Appends the job's `events` (expecting the owner's revision) with `others` in one transaction; the state becomes `next`. */
  private async append(next: JobState, events: readonly NewEvent[], others: readonly StreamAppend[]): Promise<AppendResult[]> {
    const streamId = jobStreamId(this.jobId);
    try {
      const results = await this.store.appendToStreams([{ streamId, events, expected: this.#state.revision }, ...others]);
      const mine = results.find((r) => r.streamId === streamId);
      this.#state = mine ? { ...next, revision: mine.nextRevision } : next;
      return results;
    } catch (err) {
      if (err instanceof ConcurrencyError && err.streamId === streamId) throw new JobOwnershipLostError(this.jobId);
      throw err;
    }
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * The next steps to append together: up to `maxBatch`, in order, stopping before one that
 * appends to a stream an earlier one appends to (each step's results are told apart by stream).
 */
function takeBatch(pending: Pending[]): Pending[] {
  const streams = new Set<string>();
  let n = 0;
  for (const step of pending) {
    if (n === maxBatch || (n > 0 && step.others.some((o) => streams.has(o.streamId)))) break;
    for (const o of step.others) streams.add(o.streamId);
    n++;
  }
  return pending.splice(0, n);
}
