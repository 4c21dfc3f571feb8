import http from 'node:http';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/telemetry/logger.js';
import { parseOrThrow, startStack, type TestStack } from '../support/orchestrator.js';
import { failure, parseErrorXml, patternBytes, rawRequest, type RawResponse } from '../support/s3-e2e.js';

const MiB = 1024 * 1024;
const token = 't0k3n';

/** The top-level sections the stack runs with; a reload renders them again with other rate-limit lines. */
const sections = (rateLimit: string[]) => [
  'rate_limit:', ...rateLimit.map((l) => `  ${l}`),
  'telemetry:\n  metrics:\n    enabled: true',
  `ui:\n  admin_token: ${token}`,
].join('\n');

const limited = ['enabled: true', 'requests_per_sec: 1', 'burst: 5'];

/** An unsigned ListObjects: 403 when let through (no credentials), 429/503 when refused before auth. */
const list = (stack: TestStack, headers: Record<string, string> = {}) => rawRequest(`${stack.url}/alpha?list-type=2`, { headers });

async function statuses(n: number, send: (i: number) => Promise<RawResponse>): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  for (let i = 0; i < n; i += 1) out.push(await send(i));
  return out;
}

/**
 * Runs `attempt` until it is refused (at most 10 times). The bucket refills at 1/s, so one that
 * was just emptied may have earned a token again by the next request; the one after is refused.
 */
async function untilRefused<T>(attempt: () => Promise<T>, refused: (r: T) => boolean): Promise<T> {
  let last = await attempt();
  for (let i = 0; i < 9 && !refused(last); i += 1) last = await attempt();
  return last;
}

async function metric(stack: TestStack, name: string): Promise<number> {
  const text = (await rawRequest(`${stack.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** A GET whose body the client does not read: the response cannot finish, its admission slot stays taken. */
function stalledGet(url: string): Promise<{ res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => resolve({ res }));
    req.on('error', reject);
  });
}

/** Reads what is left of a response. */
function drain(res: http.IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    res.on('data', (c: Buffer) => (bytes += c.length));
    res.on('end', () => resolve(bytes));
    res.on('error', reject);
  });
}

/**
 * A presigned PUT sent with `Expect: 100-continue`. Resolves once the server has answered:
 * `continued` with the request (the body is then the caller's to send), or with the refusal.
 */
function expectContinue(url: string, size: number): Promise<{ continued: true; req: http.ClientRequest; response: Promise<RawResponse> } | { continued: false; refusal: RawResponse }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': String(size), expect: '100-continue' } });
    let continued = false;
    let onResponse: (r: RawResponse) => void = (refusal) => {
      req.destroy();
      resolve({ continued: false, refusal });
    };
    req.on('continue', () => {
      continued = true;
      resolve({ continued: true, req, response: new Promise<RawResponse>((r) => (onResponse = r)) });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        onResponse({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString() });
      });
    });
    req.on('error', (err) => (continued ? reject(err) : undefined));
    req.flushHeaders();
  });
}

describe('request protection: rate limit and admission control', () => {
  let stack: TestStack;
  let s3: S3Client;
  const lines: string[] = [];
  /** The audit log's lines for refused S3 requests of this kind. */
  const audited = (event: string) => lines.map((l) => JSON.parse(l) as { audit?: boolean; event?: string; status?: number })
    .filter((l) => l.audit === true && l.event === event);

  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    stack = await startStack({ serverYaml: '  max_concurrent_requests: 2', extraYaml: sections(limited), start: { logger } });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  it('answers a burst over the rate 429 SlowDown with Retry-After; X-Forwarded-For from an untrusted peer changes nothing', async () => {
    // Every request claims another client: the peer (127.0.0.1) is no trusted proxy, so they are one client.
    const burst = await statuses(20, (i) => list(stack, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
    expect(burst.slice(0, 5).map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    const refused = burst.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    for (const r of refused) {
      expect(r.headers['retry-after']).toBe('1');
      expect(r.headers['x-amz-request-id']).toBeTruthy();
      expect(parseErrorXml(r.text)).toMatchObject({ Code: 'SlowDown', RequestId: r.headers['x-amz-request-id'] });
    }
    expect(burst.every((r) => r.status === 403 || r.status === 429)).toBe(true);

    // An S3 SDK sees the SlowDown code (which it treats as throttling).
    const sdk = await untilRefused(() => failure(s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }))).catch(() => undefined), (f) => f?.status === 429);
    expect(sdk).toMatchObject({ name: 'SlowDown', status: 429 });

    // The admin API is limited as well (JSON, before the token is even looked at).
    const admin = await untilRefused(() => fetch(`${stack.url}/admin/api/status`, { headers: { 'x-admin-token': token } }), (r) => r.status === 429);
    expect(admin.status).toBe(429);
    expect(admin.headers.get('retry-after')).toBe('1');
    expect(await admin.json()).toMatchObject({ code: 'RateLimitExceeded' });
  });

  it('never limits /health, /health/ready or /metrics', async () => {
    await untilRefused(() => list(stack), (r) => r.status === 429);
    for (const path of ['/health', '/health/ready', '/metrics']) {
      const answers = await statuses(30, () => rawRequest(`${stack.url}${path}`));
      expect(answers.map((r) => r.status)).toEqual(Array(30).fill(200));
    }
    const rejected = await metric(stack, 's3o_rate_limit_rejections_total');
    expect(rejected).toBeGreaterThanOrEqual(12);
    // One audit line per refused S3 request (the admin API's refusals are not S3 requests).
    await expect.poll(() => audited('s3.RateLimitRejected').length).toBeGreaterThanOrEqual(10);
    expect(audited('s3.RateLimitRejected').every((l) => l.status === 429)).toBe(true);
  });

  it('applies reloaded rate-limit settings without a restart, keeping the clients\' buckets', async () => {
    // Trusting the local proxy: each forwarded address is now a client of its own.
    const trusted = await stack.orchestrator.reload(parseOrThrow(stack.yaml(sections([...limited, 'trusted_proxies: ["127.0.0.0/8"]']))));
    expect(trusted.restartRequired).toEqual([]);
    expect(trusted.applied).toContain('rate_limit.trusted_proxies[0] (added)');
    const distinct = await statuses(20, (i) => list(stack, { 'x-forwarded-for': `203.0.113.${i + 1}` }));
    expect(distinct.map((r) => r.status)).toEqual(Array(20).fill(403));
    const oneClient = await statuses(20, () => list(stack, { 'x-forwarded-for': '203.0.113.99, 127.0.0.1' }));
    expect(oneClient.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(10);

    // A larger burst is earned, not granted: the emptied bucket of 203.0.113.99 stays (nearly) empty…
    await stack.orchestrator.reload(parseOrThrow(stack.yaml(sections(['enabled: true', 'requests_per_sec: 1', 'burst: 100', 'trusted_proxies: ["127.0.0.0/8"]']))));
    const kept = await statuses(10, () => list(stack, { 'x-forwarded-for': '203.0.113.99' }));
    expect(kept.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(5);
    // …while a new client gets the new burst.
    const fresh = await statuses(50, () => list(stack, { 'x-forwarded-for': '203.0.113.200' }));
    expect(fresh.map((r) => r.status)).toEqual(Array(50).fill(403));

    // Switched off, nobody is limited.
    const off = await stack.orchestrator.reload(parseOrThrow(stack.yaml(sections(['enabled: false', 'requests_per_sec: 1', 'burst: 5']))));
    expect(off.applied).toContain('rate_limit.enabled');
    const free = await statuses(30, () => list(stack, { 'x-forwarded-for': '203.0.113.99' }));
    expect(free.map((r) => r.status)).toEqual(Array(30).fill(403));
  });

  it('with max_concurrent_requests: 2, a third request in flight gets 503 SlowDown until a slot frees', async () => {
    const large = patternBytes(32 * MiB, 3);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'large', Body: large }));
    const upload = patternBytes(MiB, 4);

    // Slot 1: a download whose client stops reading. Slot 2: an upload admitted before its body, sent halfway.
    const download = await stalledGet(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'large' }), { expiresIn: 600 }));
    expect(download.res.statusCode).toBe(200);
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: 'slow-put' }), { expiresIn: 600 });
    const slowPut = await expectContinue(putUrl, upload.length);
    if (!slowPut.continued) throw new Error(`the upload was refused: ${slowPut.refusal.status} ${slowPut.refusal.text}`);
    slowPut.req.write(upload.subarray(0, MiB / 2));

    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'alpha' })))).toMatchObject({ name: 'SlowDown', status: 503 });
    const raw = await list(stack);
    expect(raw.status).toBe(503);
    expect(raw.headers['retry-after']).toBe('1');
    expect(parseErrorXml(raw.text)).toMatchObject({ Code: 'SlowDown', Message: 'Server at capacity', RequestId: raw.headers['x-amz-request-id'] });
    // An upload is refused before its body.
    const third = await expectContinue(putUrl, upload.length);
    expect(third.continued).toBe(false);
    if (!third.continued) {
      expect(third.refusal.status).toBe(503);
      expect(third.refusal.headers['retry-after']).toBe('1');
      expect(parseErrorXml(third.refusal.text).Code).toBe('SlowDown');
    }
    // Health, metrics and the admin API are not admission-controlled.
    expect((await rawRequest(`${stack.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.url}/admin/api/status`, { headers: { 'x-admin-token': token } })).status).toBe(200);
    expect(await metric(stack, 's3o_admission_rejections_total')).toBe(3);
    await expect.poll(() => audited('s3.AdmissionRejected').map((l) => l.status)).toEqual([503, 503, 503]);

    // Both slots come back once their responses are over.
    slowPut.req.end(upload.subarray(MiB / 2));
    expect((await slowPut.response).status).toBe(200);
    expect(await drain(download.res)).toBe(large.length);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['large', 'slow-put']);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'slow-put' }))).Body?.transformToByteArray();
    expect(Buffer.from(body ?? []).equals(upload)).toBe(true);
  });
});
