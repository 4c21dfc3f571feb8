import { diag, DiagLogLevel } from '@opentelemetry/api';
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../infra/telemetry/logger.js';
import type { Config } from '../domain/config/config.js';
import { tracePool } from '../infra/db/traced-pool.js';
import { SpanRing } from '../infra/telemetry/span-ring.js';
import { startTracer, type SpanExporter, type TracerHandle } from '../infra/telemetry/tracer-provider.js';
import { otlpTracesUrl } from './config/schema/observability.js';
import { VERSION } from './version.js';

const spanRingCapacity = 4096;

/**
 * Tracing as `telemetry.tracing` asks: undefined while it is off (nothing is wrapped, no span is
 * ever made). On, the pool's queries get spans and the gateway serves requests in spans.
 */
export function startTracing(
  config: Config, pool: pg.Pool, instanceId: string, logger: Logger, exporter: SpanExporter | undefined, registry: Registry,
): (TracerHandle & { spans: SpanRing }) | undefined {
  const tracing = config.telemetry.tracing;
  if (!tracing.enabled) return undefined;
  const url = otlpTracesUrl(tracing);
  if (typeof url === 'string') throw new Error(`telemetry.tracing.endpoint: ${url}`);
  // The SDK tells of failed exports through its diagnostic logger: to the operator's log.
  const tell = (message: string) => logger.warn({ component: 'tracing' }, `OpenTelemetry: ${message}`);
  diag.setLogger({ error: tell, warn: tell, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  logger.info({ endpoint: url.origin, sampleRate: tracing.sample_rate }, 'tracing on: exporting spans over OTLP/HTTP');
  tracePool(pool);
  // The latest spans stay in memory too, for a trace snapshot (`s3o admin trace-snapshot`).
  const spans = new SpanRing(spanRingCapacity);
  const exported = new Counter({
    name: 's3o_tracing_spans_total', labelNames: ['outcome'], registers: [registry],
    help: 'Sampled spans by what the OTLP exporter did with them: exported, dropped (its queue was full) or failed (the receiver refused or did not answer)',
  });
  return {
    ...startTracer({
      url, sampleRate: tracing.sample_rate, serviceVersion: VERSION, instanceId, exporter, processors: [spans],
      countSpans: (outcome, n) => exported.inc({ outcome }, n),
    }),
    spans,
  };
}
