import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { heldBytesStream } from '../held-bytes-stream.js';
import type { RangedResponse } from './range-window.js';
import type { GetObjectResult, ReadSignal } from './types.js';

/** How a streamed exchange ended, reported once. */
export type StreamEnd =
  | { kind: 'complete'; bytesIn: number }
  | { kind: 'failed'; bytesIn: number; error: Error }
  | { kind: 'consumer-aborted'; bytesIn: number };

export interface StreamedErrorResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface StreamedResponseCallbacks {
  signal: ReadSignal | undefined;
  /**
   * A 2xx answer without a range window that declares at most this many bytes is received whole
   * before `onHead`, which then gets it as `bytes`; a failure after its head still comes as a
   * body that fails when read, as a streamed body's would.
   */
  wholeUpTo: number | undefined;
  /** Vets a 2xx head: what to hand the caller, or the error to fail with. */
  shape: (status: number, headers: IncomingHttpHeaders) => RangedResponse | Error;
  onHead: (result: GetObjectResult) => void;
  /** A non-2xx answer, with its (small) body read whole. */
  onErrorResponse: (response: StreamedErrorResponse) => void;
  /** No usable head: the error already went through `mapError`. */
  onFailure: (error: Error) => void;
  onEnd: (end: StreamEnd) => void;
  /** Turns a transport error into what the caller sees (a started body is destroyed with it). */
  mapError: (error: Error) => Error;
}

/** A response body fed straight from undici's parser, with backpressure, and nothing in between. */
class ResponseBodyStream extends Readable {
  readonly #controller: Dispatcher.DispatchController;
  readonly #onConsumerDestroy: (err: Error) => void;
  ended = false;

  constructor(controller: Dispatcher.DispatchController, onConsumerDestroy: (err: Error) => void) {
    super();
    this.#controller = controller;
    this.#onConsumerDestroy = onConsumerDestroy;
  }

  override _read(): void {
    this.#controller.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) this.#onConsumerDestroy(err ?? new Error('response body destroyed before its end'));
    callback(err);
  }
}

/** A body received whole: its stream is made only for a caller that asks for one. */
class HeldResponse implements GetObjectResult {
  #body: Readable | undefined;

  constructor(readonly status: number, readonly headers: IncomingHttpHeaders, readonly contentLength: number, readonly bytes: Buffer) {}

  get body(): Readable {
    this.#body ??= heldBytesStream(this.bytes);
    return this.#body;
  }
}

/** The body of an answer that failed after its head: reading it gives the failure. */
function failedBody(error: Error): Readable {
  return new Readable({
    read() {
      failBody(this, error);
    },
  });
}

const ignoreError = (): void => undefined;

/**
 * Fails a body handed out with its exchange's error. A caller may have dropped the body (its own
 * step failed first, or the process is shutting down), or not be listening yet: an 'error' event
 * nobody listens to would be an uncaught exception, so such a body gets a listener that ignores
 * it. The error stays on the stream (`errored`) for a later pipeline, finished or for-await, and
 * a caller that listens still gets the event.
 */
function failBody(body: Readable, error: Error): void {
  if (body.listenerCount('error') === 0) body.once('error', ignoreError);
  body.destroy(error);
}

interface HeldHead {
  status: number;
  headers: IncomingHttpHeaders;
  contentLength: number;
  chunks: Buffer[];
}

/**
 * An undici dispatch handler for GET: resolves on a 2xx with the body as a stream, reads an error
 * status's body whole, counts the bytes actually received and reports the end once. Used instead
 * of `Pool.request` so the count is exact when the consumer stops early, and so a body that
 * covers more than the asked range can be cut without another stream in between.
 */
export class StreamedResponseHandler implements Dispatcher.DispatchHandler {
  readonly #cb: StreamedResponseCallbacks;
  #controller: Dispatcher.DispatchController | undefined;
  #body: ResponseBodyStream | undefined;
  #errorResponse: { status: number; headers: IncomingHttpHeaders; chunks: Buffer[] } | undefined;
  #held: HeldHead | undefined;
  #skip = 0;
  #take: number | undefined;
  #bytesIn = 0;
  /** We stopped the exchange on purpose: the consumer went away, or the range window is full. */
  #stoppedBy: 'consumer' | 'window' | undefined;
  #settled = false;

  constructor(callbacks: StreamedResponseCallbacks) {
    this.#cb = callbacks;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cb.signal?.aborted) controller.abort(this.#abortReason());
    else this.#cb.signal?.addEventListener('abort', this.#abortOnSignal, { once: true });
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200 || statusCode >= 300) {
      this.#errorResponse = { status: statusCode, headers, chunks: [] };
      return;
    }
    const shaped = this.#cb.shape(statusCode, headers);
    if (shaped instanceof Error) {
      controller.abort(shaped);
      return;
    }
    const whole = this.#cb.wholeUpTo;
    if (whole !== undefined && shaped.window === undefined && headers['content-length'] !== undefined && shaped.contentLength <= whole) {
      this.#held = { status: shaped.status, headers: shaped.headers, contentLength: shaped.contentLength, chunks: [] };
      return;
    }
    this.#skip = shaped.window?.skip ?? 0;
    this.#take = shaped.window?.take;
    const body = new ResponseBodyStream(controller, (err) => {
      this.#stoppedBy = 'consumer';
      controller.abort(err);
    });
    this.#body = body;
    this.#cb.onHead({ status: shaped.status, headers: shaped.headers, body, contentLength: shaped.contentLength });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytesIn += chunk.length;
    if (this.#held) {
      this.#held.chunks.push(chunk);
      return;
    }
    const body = this.#body;
    if (!body) {
      this.#errorResponse?.chunks.push(chunk);
      return;
    }
    let data = chunk;
    if (this.#skip > 0) {
      const dropped = Math.min(this.#skip, data.length);
      this.#skip -= dropped;
      data = data.subarray(dropped);
    }
    if (this.#take !== undefined && data.length >= this.#take) {
      body.ended = true;
      body.push(data.subarray(0, this.#take));
      body.push(null);
      this.#stoppedBy = 'window';
      controller.abort(new Error('requested range delivered'));
      return;
    }
    if (this.#take !== undefined) this.#take -= data.length;
    if (data.length > 0 && !body.push(data)) controller.pause();
  }

  onResponseEnd(): void {
    this.#detachSignal();
    const held = this.#held;
    if (held) {
      const { chunks } = held;
      this.#cb.onHead(new HeldResponse(held.status, held.headers, held.contentLength, chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)));
    } else if (this.#body) {
      this.#body.ended = true;
      this.#body.push(null);
    } else if (this.#errorResponse) {
      const { status, headers, chunks } = this.#errorResponse;
      this.#cb.onErrorResponse({ status, headers, text: Buffer.concat(chunks).toString('utf8') });
    }
    this.#end({ kind: 'complete', bytesIn: this.#bytesIn });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#detachSignal();
    if (this.#stoppedBy === 'window') return this.#end({ kind: 'complete', bytesIn: this.#bytesIn });
    if (this.#stoppedBy === 'consumer') return this.#end({ kind: 'consumer-aborted', bytesIn: this.#bytesIn });
    const reason = this.#cb.signal?.aborted ? this.#abortReason() : this.#cb.mapError(error);
    if (this.#body) {
      this.#body.ended = true;
      failBody(this.#body, reason);
    } else if (this.#held) {
      const { status, headers, contentLength } = this.#held;
      this.#cb.onHead({ status, headers, contentLength, body: failedBody(reason) });
    } else {
      this.#cb.onFailure(reason);
    }
    this.#end({ kind: 'failed', bytesIn: this.#bytesIn, error: reason });
  }

  readonly #abortOnSignal = (): void => {
    this.#controller?.abort(this.#abortReason());
  };

  #abortReason(): Error {
    const reason: unknown = this.#cb.signal?.reason;
    return reason instanceof Error ? reason : new Error('request aborted by its caller');
  }

  #detachSignal(): void {
    this.#cb.signal?.removeEventListener('abort', this.#abortOnSignal);
  }

  #end(end: StreamEnd): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cb.onEnd(end);
  }
}
