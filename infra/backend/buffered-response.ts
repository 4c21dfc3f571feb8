import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** A response read whole: its status, headers and body bytes. */
export interface WholeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const noBytes = Buffer.alloc(0);

/**
 * An undici dispatch handler for an exchange whose answer is small (empty, or an XML document):
 * collects the body and settles once, with the whole response or the transport's error. Used
 * instead of `Pool.request`, which puts a response stream and its consumption between undici's
 * parser and the caller of every buffered backend call (a small PUT's answer is an empty body).
 * An aborted `signal` ends the exchange with its reason.
 */
export class BufferedResponseHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (response: WholeResponse) => void;
  readonly #reject: (error: Error) => void;
  readonly #signal: AbortSignal | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];

  constructor(resolve: (response: WholeResponse) => void, reject: (error: Error) => void, signal: AbortSignal | undefined) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#signal?.aborted) controller.abort(this.#abortReason());
    else this.#signal?.addEventListener('abort', this.#abortOnSignal, { once: true });
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode;
    this.#headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#signal?.removeEventListener('abort', this.#abortOnSignal);
    const chunks = this.#chunks;
    const body = chunks.length === 0 ? noBytes : chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks);
    this.#resolve({ status: this.#status, headers: this.#headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#signal?.removeEventListener('abort', this.#abortOnSignal);
    this.#reject(error);
  }

  readonly #abortOnSignal = (): void => {
    this.#controller?.abort(this.#abortReason());
  };

  #abortReason(): Error {
    const reason: unknown = this.#signal?.reason;
    return reason instanceof Error ? reason : new Error('request aborted by its caller');
  }
}
