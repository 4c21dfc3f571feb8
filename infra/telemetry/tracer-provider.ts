/**
 * The OpenTelemetry SDK for this process's traces: sampled at `sample_rate` (a caller's sampling
 * decision in `traceparent` is followed), every span stamped with its request id, exported in
 * batches over OTLP/HTTP, or to the exporter a caller passes instead (tests).
 */
import { context, createNoopMeter, type Attributes, type Context, type Meter, type MeterProvider } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor,
  type ReadableSpan, type Span, type SpanExporter, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { requestContexts } from './request-context.js';
import { REQUEST_ID_ATTRIBUTE, requestIdIn, type RequestTracer } from './spans.js';

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
  /** Told how the batch exporter's spans ended: sent, dropped (its queue was full) or failed to send. */
  countSpans?: (outcome: SpanOutcome, spans: number) => void;
}

export type SpanOutcome = 'exported' | 'dropped' | 'failed';

export interface TracerHandle {
  /** Request spans start here; requests without a caller's trace are sampled at `sampleRate` by `startRequestSpan`. */
  requests: RequestTracer;
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

/**
 * The SDK reports what its batch processor did with each span through a meter
 * (`otel.sdk.processor.span.processed`, with `error.type` "queue_full" for a span dropped because
 * the queue was full): this one hands those counts to `count` and ignores its other instruments.
 */
function processedSpansMeter(count: (outcome: SpanOutcome, spans: number) => void): MeterProvider {
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string, options?: object) => name !== 'otel.sdk.processor.span.processed' ? noop.createCounter(name, options) : {
      add: (spans: number, attributes?: Attributes) => {
        const error = attributes?.['error.type'];
        count(error === undefined ? 'exported' : error === 'queue_full' ? 'dropped' : 'failed', spans);
      },
    },
  });
  return { getMeter: () => meter };
}

let contextManagerInstalled = false;

export function startTracer(settings: TracerSettings): TracerHandle {
  // The context travels through awaits by AsyncLocalStorage. Installed once per process and only
  // when tracing is on: without it every context lookup is a constant.
  if (!contextManagerInstalled) {
    context.setGlobalContextManager(requestContexts());
    contextManagerInstalled = true;
  }
  const exporter = settings.exporter ?? new OTLPTraceExporter({ url: settings.url.href, timeoutMillis: 10_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 's3-orchestrator', 'service.version': settings.serviceVersion, 'service.instance.id': settings.instanceId,
    }),
    // A span without a parent is a request's that startRequestSpan already sampled at sample_rate.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [
      new RequestIdStamp(),
      ...(settings.processors ?? []),
      settings.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, {
        // One export is in flight at a time: batches big enough that a busy gateway's spans fit
        // through one receiver round trip per batch; the queue bounds what a slow receiver costs.
        maxQueueSize: 16_384, maxExportBatchSize: 2048, scheduledDelayMillis: 1000,
        ...(settings.countSpans ? { selfObsMeterProvider: processedSpansMeter(settings.countSpans) } : {}),
      }),
    ],
  });
  return {
    requests: { tracer: provider.getTracer('s3-orchestrator', settings.serviceVersion), sampleRate: settings.sampleRate },
    shutdown: () => provider.shutdown(),
  };
}
