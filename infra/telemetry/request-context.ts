import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * OpenTelemetry's context manager on AsyncLocalStorage, switched on only while a request runs in
 * a traced context. On Node 20 an AsyncLocalStorage that has run once keeps an async hook that
 * copies its store into every promise the process makes, for good: at `sample_rate: 0.01` that
 * cost every request, sampled or not. Here each request run in a context holds the storage and
 * the last one to finish switches it off (its next `run` switches it on again), so while no traced
 * request is in flight promises cost what they cost with tracing off. What a request leaves
 * running after its response is done may lose its context (its spans are not made).
 */
export class RequestScopedContextManager extends AsyncLocalStorageContextManager {
  #held = 0;

  /** Whether any request runs in a context now (when none does, no context is active). */
  get inFlight(): boolean {
    return this.#held > 0;
  }

  /** A request starts running in a context. */
  hold(): void {
    this.#held++;
  }

  /** That request is done: the last one out switches the storage off. */
  release(): void {
    this.#held--;
    if (this.#held === 0) this.disable();
  }
}

let installed: RequestScopedContextManager | undefined;

/** The manager this process's tracing uses, made (not yet installed) on first use. */
export function requestContexts(): RequestScopedContextManager {
  installed ??= new RequestScopedContextManager();
  return installed;
}
