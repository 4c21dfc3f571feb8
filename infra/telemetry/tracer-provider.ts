/**
 * The OpenTelemetry SDK for this process's traces: sampled at `sample_rate` (a caller's sampling
 * decision in `traceparent` is followed), every span stamped with its request id, exported in
 * batches over OTLP/HTTP, or to the exporter a caller passes instead (tests).
 */
import { context, type Context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler,
  type ReadableSpan, type Span, type SpanExporter, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { REQUEST_ID_ATTRIBUTE, requestIdIn } from './spans.js';

export type { SpanExporter, SpanProcessor, ReadableSpan };

export interface TracerSettings {
  /** The OTLP/HTTP traces URL (`…/v1/traces`). */
  url: URL;
  sampleRate: number;
  serviceVersion: string;
  instanceId: string;
  /** Spans go here instead of the OTLP receiver (tests). */
  exporter?: SpanExporter;
  /** Processors that see every recorded span as well (the trace snapshot's ring). */
  processors?: readonly SpanProcessor[];
}

export interface TracerHandle {
  tracer: Tracer;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Puts the request id of the parent context on every span a request starts below its own. */
class RequestIdStamp implements SpanProcessor {
  onStart(span: Span, parent: Context): void {
    const id = requestIdIn(parent);
    if (id !== undefined) span.setAttribute(REQUEST_ID_ATTRIBUTE, id);
  }

  onEnd(): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

let contextManagerInstalled = false;

export function startTracer(settings: TracerSettings): TracerHandle {
  // The context travels through awaits by AsyncLocalStorage. Installed once per process and only
  // when tracing is on: without it every context lookup is a constant.
  if (!contextManagerInstalled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerInstalled = true;
  }
  const exporter = settings.exporter ?? new OTLPTraceExporter({ url: settings.url.href, timeoutMillis: 10_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 's3-orchestrator', 'service.version': settings.serviceVersion, 'service.instance.id': settings.instanceId,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRate) }),
    spanProcessors: [
      new RequestIdStamp(),
      ...(settings.processors ?? []),
      settings.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, { maxQueueSize: 4096, scheduledDelayMillis: 1000 }),
    ],
  });
  return {
    tracer: provider.getTracer('s3-orchestrator', settings.serviceVersion),
    shutdown: () => provider.shutdown(),
  };
}
