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

/**
 * Runs `first` over `items` (at most `ahead` at a time) and `then` over each item's result, in
 * the items' order, at most `concurrency` at a time: the first steps of later items run while
 * earlier items are in their second step. `first` answering undefined means nothing follows.
 * After a failure in either step no new step is started, and the first error is thrown once
 * every step in hand has settled.
 */
export async function pipelineConcurrently<T, U>(
  items: readonly T[], ahead: number, concurrency: number, first: (item: T) => Promise<U | undefined>, then: (result: U) => Promise<void>,
): Promise<void> {
  let failed = false;
  const results = items.map(() => {
    let settle: { resolve(u: U | undefined): void; reject(err: unknown): void } | undefined;
    const promise = new Promise<U | undefined>((resolve, reject) => { settle = { resolve, reject }; });
    // Observed here too: a later result nobody awaits after a failure must not go unhandled.
    promise.catch(() => undefined);
    return { promise, settle: settle as NonNullable<typeof settle> };
  });
  const stop = (err: unknown): never => {
    failed = true;
    throw err;
  };
  const firsts = forEachConcurrently(items.map((item, i) => ({ item, i })), ahead, async ({ item, i }) => {
    const slot = results[i] as (typeof results)[number];
    if (failed) return slot.settle.resolve(undefined);
    try {
      slot.settle.resolve(await first(item));
    } catch (err) {
      slot.settle.reject(err);
      stop(err);
    }
  }).finally(() => {
    // Items the first step never reached have nothing to follow.
    for (const r of results) r.settle.resolve(undefined);
  });
  const thens = forEachConcurrently(results, concurrency, async (r) => {
    const result = await r.promise;
    if (result !== undefined && !failed) await then(result).catch(stop);
  });
  const settled = await Promise.allSettled([firsts, thens]);
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
