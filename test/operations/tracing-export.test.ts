import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { processYaml } from '../support/process-config.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';

describe('tracing exported over OTLP/HTTP by a real orchestrator process (stand-in receiver)', () => {
  let db: TestDatabase;
  let s3rver: S3rverInstance;
  let receiver: OtlpReceiver;
  let proc: OrchestratorProcess;

  beforeAll(async () => {
    [db, s3rver, receiver] = await Promise.all([createTestDatabase(), startS3rver(), startOtlpReceiver()]);
    const extra = `telemetry:\n  metrics:\n    enabled: true\n  tracing:\n    enabled: true\n    endpoint: "${receiver.endpoint}"\n    insecure: true\n    sample_rate: 1.0`;
    proc = await startOrchestratorProcess((port) => processYaml({ port, db, s3rvers: [s3rver], extra }));
  });
  afterAll(async () => {
    await proc?.cleanup();
    await Promise.all([s3rver?.stop(), receiver?.close()]);
    await db?.drop();
  });

  it('exports each request\'s spans, three levels deep, with the request id and the service name', async () => {
    const s3 = new S3Client({
      endpoint: proc.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'ALPHAKEY', secretAccessKey: 'alpha-secret' },
    });
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'exported', Body: 'over otlp' }));
    await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'exported' })).then((r) => r.Body?.transformToString());
    s3.destroy();
    // The batch goes out within a second: the gateway counts every span the receiver got as exported, none dropped.
    const outcome = async (name: string): Promise<number> => {
      const text = await (await fetch(`${proc.url}/metrics`)).text();
      return Number(new RegExp(`^s3o_tracing_spans_total\\{outcome="${name}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    await expect.poll(() => receiver.spans.some((s) => s.name === 'Backend GetObject')).toBe(true);
    await expect.poll(() => outcome('exported')).toBe(receiver.spans.length);
    expect(await outcome('dropped')).toBe(0);
    expect(await outcome('failed')).toBe(0);
    // SIGTERM flushes whatever is left.
    expect(await proc.stop()).toBe(0);

    const server = receiver.spans.find((s) => s.name === 'HTTP PUT' && s.attributes['s3o.request_id'] === put.$metadata.requestId);
    expect(server).toMatchObject({ kind: 2, service: 's3-orchestrator', attributes: { 'url.path': '/alpha/exported', 'http.response.status_code': 200 } });
    const trace = receiver.spans.filter((s) => s.traceId === server?.traceId);
    const operation = trace.find((s) => s.name === 'S3 PutObject');
    expect(operation?.parentSpanId).toBe(server?.spanId);
    expect(trace.find((s) => s.name === 'Backend PutObject')).toMatchObject({ kind: 3, parentSpanId: operation?.spanId });
    expect(trace.some((s) => s.name === 'PostgreSQL append')).toBe(true);
    expect(receiver.spans.some((s) => s.name === 'Backend GetObject')).toBe(true);
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']));
    expect(proc.output()).toContain('tracing on: exporting spans over OTLP/HTTP');
  });
});
