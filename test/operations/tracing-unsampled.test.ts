import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startHeaderRecordingProxy, type HeaderRecordingProxy } from '../support/header-recording-proxy.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const callerSpanId = '00f067aa0ba902b7';

/** Sends `traceparent` with every request of this client, as a traced caller would. */
function withTraceparent(client: S3Client, traceparent: string): S3Client {
  client.middlewareStack.add((next) => async (args) => {
    (args.request as { headers: Record<string, string> }).headers.traceparent = traceparent;
    return next(args);
  }, { step: 'build', name: 'traceparent' });
  return client;
}

/**
 * sample_rate 0: the gateway samples nothing of its own, so a request without a caller's trace runs
 * outside any trace context (as with tracing off); a caller's sampled trace is still followed, all
 * the way down, between and after unsampled requests; a caller's unsampled trace is passed on.
 */
describe('tracing: requests the sampler leaves out (sample_rate 0, in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const lines: string[] = [];
  let stack: TestStack;
  let recording: HeaderRecordingProxy | undefined;

  beforeAll(async () => {
    const logger = createLogger('debug', {}, { write: (line: string) => void lines.push(line) });
    stack = await startStack({
      backends: [{ quota: 10_000_000, endpoint: async (s) => (recording = await startHeaderRecordingProxy(s.endpoint)).endpoint }],
      extraYaml: 'telemetry:\n  tracing:\n    enabled: true\n    endpoint: "http://127.0.0.1:9"\n    insecure: true\n    sample_rate: 0',
      start: { logger, spanExporter: exporter },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await recording?.close();
  });

  const backendPuts = (key: string) => recording?.received.filter((r) => r.method === 'PUT' && r.url.includes(key)) ?? [];

  it('records nothing and passes no trace on for requests without a caller\'s trace', async () => {
    const s3 = stack.client();
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `plain/${i}`, Body: `body ${i}` }));
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'plain/0' })).then((r) => r.Body?.transformToString());
    expect(backendPuts('plain/').length).toBe(5);
    for (const put of backendPuts('plain/')) expect(put.headers.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(lines.filter((l) => l.includes('"trace_id"'))).toEqual([]);
  });

  it('follows a caller\'s sampled trace down to the backend call and the append, between unsampled requests', async () => {
    const traceId = 'b'.repeat(32);
    const traced = withTraceparent(stack.client(), `00-${traceId}-${callerSpanId}-01`);
    const plain = stack.client();
    // Unsampled requests before, during and after: the context must survive the storage switching off and on.
    const [put] = await Promise.all([
      traced.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sampled/one', Body: 'followed' })),
      plain.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'plain/during', Body: 'not' })),
    ]);
    await plain.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'plain/during' })).then((r) => r.Body?.transformToString());
    await traced.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'sampled/one' })).then((r) => r.Body?.transformToString());
    // A server span ends when the response is handed over, which can be after the client has it.
    const expected = ['HTTP PUT', 'S3 PutObject', 'Backend PutObject', 'PostgreSQL append', 'HTTP GET', 'S3 GetObject', 'Backend GetObject'];
    await expect.poll(() => expected.filter((name) => !exporter.getFinishedSpans().some((s) => s.name === name))).toEqual([]);

    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(spans.filter((s) => s.name === 'Backend GetObject')).toHaveLength(1);
    const putSpans = spans.filter((s) => s.attributes['s3o.request_id'] === put.$metadata.requestId);
    expect(putSpans.length).toBeGreaterThanOrEqual(4);
    const backendPut = putSpans.find((s) => s.name === 'Backend PutObject');
    expect(backendPuts('sampled/one').map((r) => r.headers.traceparent)).toEqual([`00-${traceId}-${backendPut?.spanContext().spanId}-01`]);
    expect(backendPuts('plain/during')[0]?.headers.traceparent).toBeUndefined();
  });

  it('passes a caller\'s unsampled trace on to the backend without recording it', async () => {
    const traceId = 'c'.repeat(32);
    const s3 = withTraceparent(stack.client(), `00-${traceId}-${callerSpanId}-00`);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'unsampled/one', Body: 'passed on' }));
    const sent = backendPuts('unsampled/one').map((r) => r.headers.traceparent);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // A sampled request after it, whose spans end after any the unsampled PUT could have recorded.
    const laterId = 'd'.repeat(32);
    await withTraceparent(stack.client(), `00-${laterId}-${callerSpanId}-01`).send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sampled/after', Body: 'later' }));
    await expect.poll(() => exporter.getFinishedSpans().some((s) => s.spanContext().traceId === laterId && s.name === 'HTTP PUT')).toBe(true);
    expect(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)).toEqual([]);
  });
});
