import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AdmissionControl, type AdmissionSettings } from '../../../gateway/protection/admission.js';
import { RateLimiter } from '../../../gateway/protection/rate-limiter.js';
import { RequestProtection, wasShed, type Refusal } from '../../../gateway/protection/request-protection.js';
import type { DomainError } from '../../../domain/errors.js';
import { createMetrics } from '../../../infra/telemetry/metrics.js';
import type { RateLimitConfig } from '../../../domain/config/config.js';

const rateLimit: RateLimitConfig = {
  enabled: true, requests_per_sec: 0.001, burst: 2, cleanup_interval: 60_000, cleanup_max_age: 300_000, trusted_proxies: [],
};

function setup(admission: Partial<AdmissionSettings> = {}, limit: Partial<RateLimitConfig> = {}, random = () => 0.5) {
  const metrics = createMetrics('test');
  const control = new AdmissionControl({ maxConcurrent: 2, maxReads: 0, maxWrites: 0, shedThreshold: 0, waitMs: 0, ...admission }, random);
  const limiter = new RateLimiter(() => ({ ...rateLimit, ...limit }), () => 0);
  return { metrics, control, protection: new RequestProtection(control, limiter, metrics) };
}

const request = (method: string, peer = '203.0.113.1') =>
  ({ method, headers: {}, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;

type FakeResponse = ServerResponse & { finish(): void };
function response(): FakeResponse {
  const res = new EventEmitter() as EventEmitter & { closed: boolean; finish(): void };
  res.closed = false;
  res.finish = () => {
    res.closed = true;
    res.emit('close');
  };
  return res as unknown as FakeResponse;
}

function sync(r: Refusal | Promise<Refusal>): Refusal {
  if (r instanceof Promise) throw new Error('expected an immediate answer');
  return r;
}

const count = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values[0]?.value ?? 0;

describe('request protection', () => {
  it('holds an S3 request\'s slot until its response closes', () => {
    const { protection, control } = setup();
    const res = response();
    expect(sync(protection.s3(request('GET'), res))).toBeUndefined();
    expect(control.inUse('GET')).toBe(1);
    res.finish();
    expect(control.inUse('GET')).toBe(0);
  });

  it('checks a request once: an Expect: 100-continue upload admitted before its body is not admitted again', () => {
    const { protection, control } = setup();
    const req = request('PUT');
    const res = response();
    expect(sync(protection.s3(req, res))).toBeUndefined();
    expect(sync(protection.s3(req, res))).toBeUndefined();
    expect(control.inUse('PUT')).toBe(1);
  });

  it('refuses a full server with 503 SlowDown "Server at capacity" and counts it', async () => {
    const { protection, metrics } = setup({ maxConcurrent: 1 });
    sync(protection.s3(request('GET'), response()));
    const refusal = sync(protection.s3(request('GET', '203.0.113.2'), response()));
    expect(refusal).toMatchObject({ code: 'SlowDown', s3Code: 'SlowDown', status: 503, message: 'Server at capacity' });
    expect(wasShed(refusal as DomainError)).toBe(false);
    expect(await count(metrics.admissionRejections)).toBe(1);
    expect(await count(metrics.loadShed)).toBe(0);
  });

  it('counts shed requests apart from capacity refusals', async () => {
    const { protection, metrics } = setup({ maxConcurrent: 4, shedThreshold: 0.25 }, {}, () => 0);
    sync(protection.s3(request('GET'), response()));
    sync(protection.s3(request('GET', '203.0.113.2'), response()));
    const refusal = sync(protection.s3(request('GET', '203.0.113.3'), response()));
    expect(refusal).toMatchObject({ code: 'SlowDown', status: 503 });
    // Audited as s3.LoadShed rather than s3.AdmissionRejected.
    expect(wasShed(refusal as DomainError)).toBe(true);
    expect((await metrics.loadShed.get()).name).toBe('s3o_load_shed_total');
    expect(await count(metrics.loadShed)).toBe(1);
    expect(await count(metrics.admissionRejections)).toBe(0);
  });

  it('answers a client over its rate 429 with S3 code SlowDown, and frees the slot it was admitted to', async () => {
    const { protection, control, metrics } = setup({ maxConcurrent: 10 });
    for (let i = 0; i < 2; i += 1) expect(sync(protection.s3(request('GET'), response()))).toBeUndefined();
    const res = response();
    const refusal = sync(protection.s3(request('GET'), res));
    expect(refusal).toMatchObject({ code: 'RateLimitExceeded', s3Code: 'SlowDown', status: 429 });
    expect(await count(metrics.rateLimitRejections)).toBe(1);
    expect(control.inUse('GET')).toBe(3);
    res.finish();
    expect(control.inUse('GET')).toBe(2);
  });

  it('applies only the rate limit to admin requests', () => {
    const { protection, control } = setup({ maxConcurrent: 1 });
    sync(protection.s3(request('GET', '198.51.100.9'), response()));
    expect(protection.admin(request('GET'))).toBeUndefined();
    expect(protection.admin(request('GET'))).toBeUndefined();
    expect(protection.admin(request('GET'))).toMatchObject({ code: 'RateLimitExceeded', status: 429 });
    expect(control.inUse('GET')).toBe(1);
  });

  it('a request waiting for a slot whose client goes away takes none', async () => {
    const { protection, control } = setup({ maxConcurrent: 1, waitMs: 60_000 });
    const first = response();
    sync(protection.s3(request('GET'), first));
    const gone = response();
    const waiting = protection.s3(request('GET', '203.0.113.2'), gone);
    expect(waiting).toBeInstanceOf(Promise);
    gone.finish();
    expect(await waiting).toMatchObject({ code: 'SlowDown', status: 503 });
    first.finish();
    expect(control.inUse('GET')).toBe(0);
  });

  it('a request waiting for a slot is admitted when one frees, and holds it until its own response closes', async () => {
    const { protection, control } = setup({ maxConcurrent: 1, waitMs: 60_000 });
    const first = response();
    sync(protection.s3(request('GET'), first));
    const second = response();
    const waiting = protection.s3(request('GET', '203.0.113.2'), second);
    first.finish();
    expect(await waiting).toBeUndefined();
    expect(control.inUse('GET')).toBe(1);
    second.finish();
    expect(control.inUse('GET')).toBe(0);
  });
});
