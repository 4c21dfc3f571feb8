import type { JobKind } from '../../domain/events/job-events.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { EventFactory } from '../../services/event-factory.js';
import { loadJob } from '../../services/jobs/job-stream.js';
import { JobStreamWriter } from './job-stream-writer.js';

/** Runs one kind of job until it is finished, cancelled, or `signal` says stop (lease lost, shutdown). */
export interface JobDriver {
  kind: JobKind;
  /** Continues `job` from its state as loaded (running; moves a crashed owner left in flight included). */
  run(job: JobStreamWriter, signal: AbortSignal): Promise<void>;
}

/**
 * Takes a job over: its state from the last checkpoint on, and a writer that appends as its
 * owner (actor `system:<kind>`, correlated by the job id). Undefined when the job no longer runs.
 */
export async function openJob(store: EventStore, events: EventFactory, jobId: string): Promise<JobStreamWriter | undefined> {
  const state = await loadJob(store, jobId);
  if (state.status !== 'running' || state.kind === undefined) return undefined;
  return new JobStreamWriter(store, events, { actor: `system:${state.kind}`, correlationId: jobId }, state);
}

/** The backend a drain or removal job works on; such a job without one cannot run. */
export function jobBackend(job: JobStreamWriter): string {
  const backend = job.state.backend;
  if (backend === undefined) throw new Error(`job ${job.jobId} (${job.state.kind ?? 'unknown'}) names no backend`);
  return backend;
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time. After a failure no new item is
 * started, and the first error is thrown once the items in hand have settled (so a job that
 * stops has no work left running behind it).
 */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  let failed = false;
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined && !failed; item = queue.shift()) {
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
