import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracePool } from '../../infra/db/traced-pool.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { startRequestSpan } from '../../infra/telemetry/spans.js';
import { startTracer, type TracerHandle } from '../../infra/telemetry/tracer-provider.js';
import { newEvent } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/**
 * A group commit runs the appends of several requests in one statement, started by whichever
 * request's commit finished last: each traced request still gets exactly one `PostgreSQL append`
 * span, under its own request span, and no request gets another's. The first append of a burst
 * commits alone and the rest form one group, so the grouping here is deterministic.
 */
describe('group commit under tracing', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let tracer: TracerHandle;
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    db = await createMigratedDatabase();
    // This file's own database: its pool traced as tracing would do it.
    store = new PostgresEventStore(tracePool(db.pool));
    tracer = startTracer({ url: new URL('http://127.0.0.1:9/v1/traces'), sampleRate: 0, serviceVersion: 'test', instanceId: 'test', exporter });
  });
  afterAll(async () => {
    await tracer?.shutdown();
    await db?.close();
  });

  /** One append as a request would make it: traced in `traceId`'s trace, or untraced. */
  const appendAsRequest = (traceId: string | undefined): Promise<unknown> => {
    const append = () => store.appendToStreams([{
      streamId: `cleanup-${randomUUID()}`, expected: 'no_stream', events: [newEvent('CleanupSucceeded', { attempt: 1, backend: 'none', size: 0 })],
    }]);
    if (traceId === undefined) return append();
    const request = startRequestSpan(tracer.requests, 'HTTP PUT', { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` }, `req-${traceId.slice(0, 4)}`, () => ({}));
    if (request === undefined) throw new Error('a caller\'s sampled trace is always followed');
    return context.with(request.context, append).finally(() => {
      request.span.end();
      request.done();
    });
  };
  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

  it.each([
    ['an untraced append commits first, two traced ones commit as a group', [undefined, 'a', 'b']],
    ['a traced append commits first, and the group after it holds an untraced and a traced one', ['c', undefined, 'd']],
  ] as const)('%s: one append span per traced request, in its own trace', async (_, burst) => {
    await Promise.all(burst.map((t) => appendAsRequest(t === undefined ? undefined : t.repeat(32))));
    for (const t of burst) {
      if (t === undefined) continue;
      const spans = spansOf(t.repeat(32));
      const server = spans.find((s) => s.name === 'HTTP PUT');
      expect(spans.map((s) => s.name).sort(), t).toEqual(['HTTP PUT', 'PostgreSQL append']);
      const append = spans.find((s) => s.name === 'PostgreSQL append');
      expect(append?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    }
    expect(exporter.getFinishedSpans().every((s) => burst.some((t) => t !== undefined && s.spanContext().traceId === t.repeat(32)))).toBe(true);
    exporter.reset();
  });
});
