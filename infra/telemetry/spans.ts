/**
 * Spans inside a traced request. The request's tracer and id travel in the OpenTelemetry context
 * (set by the gateway when tracing is on), so a backend call or a query makes a child span only
 * while it runs for a traced request. While no traced request is in flight (always, with tracing
 * off) each helper costs one counter check.
 */
import {
  context, createContextKey, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Span, type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { requestContexts } from './request-context.js';

export { SpanKind, type Span, type Tracer };

const tracerKey = createContextKey('s3o.tracer');
const requestIdKey = createContextKey('s3o.request_id');
const propagator = new W3CTraceContextPropagator();

/** The attribute every span of a request carries: the id the client sees as x-amz-request-id. */
export const REQUEST_ID_ATTRIBUTE = 's3o.request_id';

/** The request id a span started in `parent` belongs to, if any (for the span processor that stamps it). */
export function requestIdIn(parent: Context): string | undefined {
  const id = parent.getValue(requestIdKey);
  return typeof id === 'string' ? id : undefined;
}

/** What a gateway starts request spans with: the tracer, and the share of requests without a caller's trace it samples. */
export interface RequestTracer {
  tracer: Tracer;
  sampleRate: number;
}

/** A traced request's server span and the context to run it in; `done` once the response is over. */
export interface RequestSpan {
  span: Span;
  context: Context;
  done(): void;
}

/**
 * Starts a request's server span, continuing the caller's W3C `traceparent` when it sent a valid
 * one, and gives the context to run the request in. The sampling decision comes first: a request
 * that is not sampled and brings no caller's trace to pass on gets undefined and runs as with
 * tracing off (no context, no attributes, no child spans). `attributes` is only called for a
 * recorded span.
 */
export function startRequestSpan(
  requests: RequestTracer, name: string, headers: Readonly<Record<string, unknown>>, requestId: string, attributes: () => Attributes,
): RequestSpan | undefined {
  const remote = headers.traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  // A new trace is decided here, before any span or id is made (the provider's root sampler
  // records every root it is given); a caller's trace is decided by the caller's sampled flag.
  const callerTrace = trace.getSpanContext(remote) !== undefined;
  if (!callerTrace && !(Math.random() < requests.sampleRate)) return undefined;
  const span = requests.tracer.startSpan(name, { kind: SpanKind.SERVER }, remote);
  if (span.isRecording()) span.setAttributes({ ...attributes(), [REQUEST_ID_ATTRIBUTE]: requestId });
  const contexts = requestContexts();
  contexts.hold();
  let held = true;
  return {
    span,
    context: trace.setSpan(remote, span).setValue(tracerKey, requests.tracer).setValue(requestIdKey, requestId),
    done: () => {
      if (!held) return;
      held = false;
      contexts.release();
    },
  };
}

/**
 * The active context, or undefined while no request runs in a traced context (then none can be
 * active: this spares the context manager's lookup on every untraced request's path).
 */
function activeContext(): Context | undefined {
  return requestContexts().inFlight ? context.active() : undefined;
}

/** Whether code runs for a traced request (one in a context with a tracer). */
export function inTracedRequest(): boolean {
  return activeContext()?.getValue(tracerKey) !== undefined;
}

/**
 * Runs `fn` outside any request's context: for work one request starts on behalf of several
 * (a group commit), whose queries must not be counted as that one request's.
 */
export function outsideRequests<T>(fn: () => T): T {
  return requestContexts().inFlight ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** A child of the active request span, or undefined outside a traced request. End it. */
export function startChildSpan(name: string, kind: SpanKind, attributes?: Attributes): Span | undefined {
  const active = activeContext();
  if (active === undefined) return undefined;
  const tracer = active.getValue(tracerKey) as Tracer | undefined;
  return tracer?.startSpan(name, { kind, attributes }, active);
}

/**
 * Runs `fn` in a child span of the active request span, or plainly (as it is, no promise added)
 * outside a traced request.
 */
export function inChildSpan<T>(
  name: string, kind: SpanKind, attributes: Attributes | undefined, fn: (span: Span | undefined) => T | Promise<T>,
): T | Promise<T> {
  const span = startChildSpan(name, kind, attributes);
  if (span === undefined) return fn(undefined);
  return Promise.resolve(context.with(trace.setSpan(context.active(), span), () => fn(span))).then(
    (result) => {
      span.end();
      return result;
    },
    (err: unknown) => {
      endFailed(span, err);
      throw err;
    },
  );
}

/** Ends a span as failed, naming the error's class and code, never its message (it may quote a request). */
export function endFailed(span: Span, err: unknown, attributes?: Attributes): void {
  const e = err as { name?: unknown; code?: unknown } | null;
  const type = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
  span.setAttributes({ ...attributes, 'error.type': type });
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The trace id of the active span when it is recorded (a traced, sampled request). */
export function activeTraceId(): string | undefined {
  const active = activeContext();
  const span = active && trace.getSpan(active);
  return span?.isRecording() ? span.spanContext().traceId : undefined;
}

/** Sets an attribute on the active span (the request's, in the gateway) when it is recorded. */
export function setActiveSpanAttribute(name: string, value: string): void {
  const active = activeContext();
  const span = active && trace.getSpan(active);
  if (span?.isRecording()) span.setAttribute(name, value);
}

/** Adds `traceparent` (and `tracestate`) for `span` to headers about to be sent. */
export function injectTraceContext(span: Span, headers: Record<string, string>): void {
  propagator.inject(trace.setSpan(context.active(), span), headers, defaultTextMapSetter);
}

/** For a log line (pino's mixin, which merges into what it returns): the active recorded span's trace and span id. */
export function traceFieldsOfActiveSpan(): Record<string, string> {
  const active = activeContext();
  const span = active && trace.getSpan(active);
  if (span === undefined || !span.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
