import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startDroppingProxy, type DroppingProxy } from '../support/dropping-proxy.js';
import { startHeaderRecordingProxy, type HeaderRecordingProxy } from '../support/header-recording-proxy.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpanId = '00f067aa0ba902b7';
const dropMarker = 'application/x-drops-the-connection';

/** Sends `traceparent` with every request of this client, as a traced caller would. */
function withTraceparent(client: S3Client, traceparent: string): S3Client {
  client.middlewareStack.add((next) => async (args) => {
    (args.request as { headers: Record<string, string> }).headers.traceparent = traceparent;
    return next(args);
  }, { step: 'build', name: 'traceparent' });
  return client;
}

describe('tracing (SDK in-memory exporter, real backends)', () => {
  const exporter = new InMemorySpanExporter();
  const lines: string[] = [];
  let stack: TestStack;
  let dropping: DroppingProxy | undefined;
  let recording: HeaderRecordingProxy | undefined;

  const spansOf = (trace: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === trace);
  const named = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
  const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    stack = await startStack({
      backends: [
        { quota: 10_000_000, endpoint: async (s) => (dropping = await startDroppingProxy(s.endpoint, dropMarker)).endpoint },
        { quota: 10_000_000, endpoint: async (s) => (recording = await startHeaderRecordingProxy(s.endpoint)).endpoint },
      ],
      extraYaml: 'telemetry:\n  tracing:\n    enabled: true\n    endpoint: "http://127.0.0.1:9"\n    insecure: true\n    sample_rate: 1.0',
      start: { logger, spanExporter: exporter },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await dropping?.close();
    await recording?.close();
  });

  it('continues the caller\'s trace: HTTP request -> S3 operation -> backend call and PostgreSQL append, with the request id on every span', async () => {
    const s3 = withTraceparent(stack.client(), `00-${traceId}-${callerSpanId}-01`);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'traced/one', Body: 'hello traces' }));
    const requestId = put.$metadata.requestId;
    await expect.poll(() => named(spansOf(traceId), 'HTTP PUT').length).toBe(1);
    const spans = spansOf(traceId);

    const server = named(spans, 'HTTP PUT')[0] as ReadableSpan;
    expect(parentOf(server)).toBe(callerSpanId);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'PUT', 'url.path': '/alpha/traced/one', 'http.response.status_code': 200, 's3o.operation': 'PutObject' });
    const operation = named(spans, 'S3 PutObject')[0] as ReadableSpan;
    expect(parentOf(operation)).toBe(server.spanContext().spanId);
    const backendCall = named(spans, 'Backend PutObject')[0] as ReadableSpan;
    expect(parentOf(backendCall)).toBe(operation.spanContext().spanId);
    expect(backendCall.attributes).toMatchObject({ 's3o.backend': 'b1', 'http.response.status_code': 200 });
    const append = named(spans, 'PostgreSQL append');
    expect(append.length).toBeGreaterThan(0);
    expect(named(spans, 'PostgreSQL query').length).toBeGreaterThan(0);
    for (const span of spans) expect(span.attributes['s3o.request_id'], span.name).toBe(requestId);

    // A GET in the same trace: its backend call carries the trace onward.
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'traced/one' })).then((r) => r.Body?.transformToString());
    await expect.poll(() => named(spansOf(traceId), 'Backend GetObject').length).toBe(1);
  });

  it('propagates traceparent to the backend, and log lines inside a span name its trace', async () => {
    const otherTrace = 'a'.repeat(32);
    const s3 = withTraceparent(stack.client(), `00-${otherTrace}-${callerSpanId}-01`);
    // b1 drops this write, so the gateway logs a failover (inside the request's span) and writes to b2.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'traced/failover', Body: 'to b2', ContentType: dropMarker }));
    expect(dropping?.dropped()).toBe(1);
    await expect.poll(() => named(spansOf(otherTrace), 'HTTP PUT').length).toBe(1);
    const calls = named(spansOf(otherTrace), 'Backend PutObject');
    expect(calls.map((c) => [c.attributes['s3o.backend'], c.status.code])).toEqual([['b1', 2], ['b2', 0]]);

    const toB2 = calls[1] as ReadableSpan;
    const seen = recording?.received.filter((r) => r.method === 'PUT' && r.url.includes('traced/failover'));
    expect(seen?.map((r) => r.headers.traceparent)).toEqual([`00-${otherTrace}-${toB2.spanContext().spanId}-01`]);

    const failover = lines.map((l) => JSON.parse(l) as { msg: string; trace_id?: string; span_id?: string })
      .find((l) => l.msg === 'backend write failed; failing over');
    expect(failover?.trace_id).toBe(otherTrace);
    expect(spansOf(otherTrace).map((s) => s.spanContext().spanId)).toContain(failover?.span_id);
  });

  it('starts a new sampled trace for a caller without traceparent, and never records a secret', async () => {
    const s3 = stack.client('beta');
    await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: 'plain', Body: 'x' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'beta', Key: 'plain' }), { expiresIn: 60 });
    expect((await fetch(url)).status).toBe(200);
    await expect.poll(() => exporter.getFinishedSpans().some((s) => s.name === 'HTTP GET' && s.attributes['url.path'] === '/beta/plain')).toBe(true);
    const presigned = exporter.getFinishedSpans().find((s) => s.name === 'HTTP GET' && s.attributes['url.path'] === '/beta/plain') as ReadableSpan;
    expect(presigned.parentSpanContext).toBeUndefined();

    const recorded = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events]));
    for (const secret of ['alpha-secret', 'beta-secret', 'X-Amz-Signature', 'X-Amz-Credential', 'AWS4-HMAC-SHA256', ...stack.stores.map((s) => s.secretAccessKey)]) {
      expect(recorded).not.toContain(secret);
    }
  });
});
