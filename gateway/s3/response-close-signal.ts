import type { ServerResponse } from 'node:http';
import type { ReadSignal } from '../../infra/backend/index.js';

/**
 * Aborts, as an AbortController's signal would, when the response closes before it is complete
 * (the client went away): what a request's backend reads stop on. An AbortController per request
 * (its signal, an EventTarget, made on first use, and a listener added to and removed from it per
 * backend read) showed in the small GET's profile; this is one 'close' listener and a plain list.
 * It watches the response from when it is made: a response closed before then never aborts it.
 */
export class ResponseCloseSignal implements ReadSignal {
  #aborted = false;
  #reason: unknown;
  #listeners: (() => void)[] | undefined;

  constructor(response: ServerResponse) {
    // 'close' is emitted once: `on` spares the wrapper `once` makes.
    response.on('close', () => {
      if (!response.writableFinished) this.#abort();
    });
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Like an AbortSignal's: called once (`once` or not), on abort; a listener added after the abort never is. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.#aborted) return;
    const listeners = (this.#listeners ??= []);
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    const at = listeners?.indexOf(listener) ?? -1;
    if (listeners && at !== -1) listeners.splice(at, 1);
  }

  #abort(): void {
    this.#aborted = true;
    // The reason AbortController.abort() gives.
    this.#reason = new DOMException('This operation was aborted', 'AbortError');
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}
