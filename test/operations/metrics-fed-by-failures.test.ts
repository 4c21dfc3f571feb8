import http from 'node:http';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { failure, rawRequest } from '../support/s3-e2e.js';
import type { S3rverInstance } from '../support/s3rver.js';

const yaml = [
  'routing_strategy: pack',
  'telemetry:\n  metrics:\n    enabled: true',
  'backend_circuit_breaker:\n  enabled: true\n  failure_threshold: 1\n  open_timeout: 1h',
].join('\n');

/** A PUT with `Expect: 100-continue` and a made-up signature: refused before its body is sent. */
function forgedUpload(url: string): Promise<number> {
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/alpha/forged`, {
      method: 'PUT',
      headers: {
        expect: '100-continue', 'content-length': '10', 'x-amz-date': date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `AWS4-HMAC-SHA256 Credential=ALPHAKEY/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    req.on('continue', () => reject(new Error('the forged upload was let through')));
    req.on('response', (res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/**
 * The metric families fed by failures (metrics-families.test.ts names this file for them): a read
 * refused by a monthly usage limit, an upload refused before its body, a write failing over from a
 * dead backend whose breaker opens, the orphan that write left, a cleanup pass deleting other
 * left-behind bytes, and the audit lines of all of it.
 */
describe('metric families fed by failures', () => {
  let stack: TestStack;
  const scrape = async (): Promise<string> => (await rawRequest(`${stack.url}/metrics`)).text;
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  beforeAll(async () => {
    // Audit lines (and their counter) are written at log level info.
    const logger = createLogger('info', {}, { write: () => undefined });
    stack = await startStack({
      backends: [{ quota: 1_000_000, extra: '    egress_byte_limit: 100' }, { quota: 1_000_000 }],
      extraYaml: yaml,
      start: { logger },
    });
  });
  afterAll(async () => stack?.stop());

  it('counts usage-limit and early rejections, write failover, breaker transitions, cleanup and audit lines', async () => {
    const s3 = stack.client();
    // b1 takes the write (pack) but may send only 100 bytes a month: the read is refused.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'limited', Body: Buffer.alloc(500, 1) }));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'limited' })))).toMatchObject({ status: 429 });
    expect(await forgedUpload(stack.url)).toBe(403);

    // Bytes left on a live backend, deleted by a cleanup pass (this one, or the worker's own tick).
    await stack.orchestrator.services.orphans.record('b2', 'alpha/left-behind~01ARZ3NDEKTSV4RRFFQ69G5FAV', 0, 'test', { actor: 'test' }, { reclaimNow: false });
    await stack.orchestrator.cleanup.runOnce();

    (stack.s3rvers[0] as S3rverInstance).kill();
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'failed-over', Body: 'x' }));

    const text = await scrape();
    expect(sample(text, 's3o_usage_limit_rejections_total{operation="GetObject"}')).toBe(1);
    expect(sample(text, 's3o_early_rejections_total{code="SignatureDoesNotMatch"}')).toBe(1);
    expect(sample(text, 's3o_write_failover_total{backend="b1"}')).toBe(1);
    expect(sample(text, 's3o_circuit_breaker_state{name="b1"}')).toBe(1);
    expect(sample(text, 's3o_circuit_breaker_transitions_total{name="b1",to="open"}')).toBe(1);
    expect(sample(text, 's3o_cleanup_queue_enqueued_total{reason="failed_upload"}')).toBe(1);
    expect(sample(text, 's3o_cleanup_queue_enqueued_total{reason="test"}')).toBe(1);
    expect(sample(text, 's3o_cleanup_queue_processed_total{outcome="succeeded"}')).toBe(1);
    expect(sample(text, 's3o_audit_events_total{kind="request"}')).toBeGreaterThanOrEqual(4);
    expect(sample(text, 's3o_audit_events_total{kind="state_change"}')).toBeGreaterThanOrEqual(3);
  });
});
