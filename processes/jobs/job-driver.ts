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
export function pipelineConcurrently<T, U>(
  items: readonly T[], ahead: number, concurrency: number, first: (item: T) => Promise<U | undefined>, then: (result: U) => Promise<void>,
): Promise<void> {
  let given = false;
  return pipelinePages(() => {
    const page = given ? [] : items;
    given = true;
    return Promise.resolve(page);
  }, ahead, concurrency, first, then);
}

/**
 * `pipelineConcurrently` over items that come page by page: `next` is asked for a page when the
 * first steps have taken every item in hand and fewer than `ahead` first results wait for their
 * second step (one request at a time; an empty page ends the items), so the next page is read
 * while the items taken are still in their steps, and no step waits for the items before it to
 * finish. Same order, limits and failure rules.
 */
export async function pipelinePages<T, U>(
  next: () => Promise<readonly T[]>, ahead: number, concurrency: number, first: (item: T) => Promise<U | undefined>, then: (result: U) => Promise<void>,
): Promise<void> {
  const errors: unknown[] = [];
  const fail = (err: unknown): void => {
    errors.push(err);
  };
  const inHand: T[] = [];
  let ended = false;
  let page: Promise<void> | undefined;
  // The first steps' results in the items' order, for the second steps to take.
  const results: Promise<U | undefined>[] = [];
  let firstsDone = false;
  let wake = (): void => undefined;
  let woken = Promise.resolve();
  const notify = (): void => {
    const wakeNow = wake;
    woken = new Promise<void>((resolve) => { wake = resolve; });
    wakeNow();
  };
  notify();

  /** The next item for a first step, with its result's place queued (so results keep the items' order); undefined when none is left. */
  const take = async (): Promise<{ item: T; settle(u: U | undefined): void } | undefined> => {
    for (;;) {
      if (errors.length > 0) return undefined;
      if (inHand.length > 0) {
        const item = inHand.shift() as T;
        let settle = (_: U | undefined): void => undefined;
        results.push(new Promise<U | undefined>((resolve) => { settle = resolve; }));
        notify();
        return { item, settle };
      }
      if (ended) return undefined;
      // A page is asked for once fewer than `ahead` results wait for a second step: items are started
      // at most that far ahead of the second steps across pages, as within one.
      if (page === undefined && results.length >= ahead) {
        await woken;
        continue;
      }
      page ??= next().then((got) => {
        if (got.length === 0) ended = true;
        inHand.push(...got);
      }).finally(() => { page = undefined; });
      try {
        await page;
      } catch (err) {
        if (!errors.includes(err)) fail(err);
        return undefined;
      }
    }
  };

  const firsts = Promise.all(Array.from({ length: Math.max(1, ahead) }, async () => {
    for (let taken = await take(); taken !== undefined; taken = await take()) {
      try {
        taken.settle(await first(taken.item));
      } catch (err) {
        fail(err);
        taken.settle(undefined);
      }
    }
  })).finally(() => {
    firstsDone = true;
    notify();
  });
  const thens = Promise.all(Array.from({ length: Math.max(1, concurrency) }, async () => {
    for (;;) {
      const slot = results.shift();
      if (slot === undefined) {
        if (firstsDone) return;
        await woken;
        continue;
      }
      notify();
      const result = await slot;
      if (result === undefined || errors.length > 0) continue;
      try {
        await then(result);
      } catch (err) {
        fail(err);
      }
    }
  }));
  await Promise.all([firsts, thens]);
  if (errors.length > 0) throw errors[0];
}
