import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putOnBackend } from '../support/backend-objects.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import type { S3rverInstance } from '../support/s3rver.js';

const cacheYaml = [
  'telemetry:\n  metrics:\n    enabled: true',
  'cache:\n  enabled: true\n  max_size: 100KiB\n  max_object_size: 40KiB\n  ttl: 5m',
].join('\n');

/** Reads /metrics and the object cache's view of a stack. */
function probes(stackOf: () => TestStack, s3Of: () => S3Client) {
  const metrics = async (): Promise<string> => (await fetch(`${stackOf().url}/metrics`)).text();
  const get = async (key: string, extra: { Range?: string; IfNoneMatch?: string } = {}) => {
    const res = await s3Of().send(new GetObjectCommand({ Bucket: 'alpha', Key: key, ...extra }));
    return { body: Buffer.from(await res.Body!.transformToByteArray()), res };
  };
  const put = (key: string, body: Buffer) => s3Of().send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: body }));
  return { metrics, get, put };
}

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1] ?? 0);
};

/** Backend GETs so far: a read served from the cache makes none. */
const backendGets = (text: string): number => text.split('\n')
  .filter((l) => l.startsWith('s3o_backend_requests_total{') && l.includes('operation="GetObject"'))
  .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);

describe('the object cache on one instance', () => {
  let stack: TestStack;
  let s3: S3Client;
  const { metrics, get, put } = probes(() => stack, () => s3);

  beforeAll(async () => {
    stack = await startStack({ extraYaml: cacheYaml });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  it('the second GET is a hit served without a backend read; a range is served from the cached object', async () => {
    const body = randomBytes(30_000);
    await put('hot', body);
    const before = await metrics();
    expect((await get('hot')).body).toEqual(body);
    const afterFirst = await metrics();
    expect(value(afterFirst, 's3o_cache_misses_total') - value(before, 's3o_cache_misses_total')).toBe(1);
    expect(backendGets(afterFirst) - backendGets(before)).toBe(1);
    expect(value(afterFirst, 's3o_cache_entries')).toBe(1);
    expect(value(afterFirst, 's3o_cache_size_bytes')).toBe(30_000);

    expect((await get('hot')).body).toEqual(body);
    const ranged = await get('hot', { Range: 'bytes=1000-1999' });
    expect(ranged.body).toEqual(body.subarray(1000, 2000));
    expect(ranged.res.ContentRange).toBe('bytes 1000-1999/30000');
    const suffix = await get('hot', { Range: 'bytes=-10' });
    expect(suffix.body).toEqual(body.subarray(29_990));
    const after = await metrics();
    expect(value(after, 's3o_cache_hits_total') - value(afterFirst, 's3o_cache_hits_total')).toBe(3);
    expect(backendGets(after)).toBe(backendGets(afterFirst));
  });

  it('conditionals and HEAD behave as without the cache', async () => {
    const body = randomBytes(1000);
    await put('cond', body);
    const { res } = await get('cond');
    await expect(get('cond', { IfNoneMatch: res.ETag })).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfMatch: '"0000"' }))).rejects.toMatchObject({ name: 'PreconditionFailed' });
    await expect(get('cond', { Range: 'bytes=5000-' })).rejects.toMatchObject({ name: 'InvalidRange' });
  });

  it('an overwrite or a delete is never answered from the cache', async () => {
    const first = randomBytes(5000);
    await put('changing', first);
    expect((await get('changing')).body).toEqual(first);
    expect((await get('changing')).body).toEqual(first);
    for (let i = 0; i < 5; i++) {
      const next = randomBytes(5000);
      await put('changing', next);
      expect((await get('changing')).body).toEqual(next);
      expect((await get('changing')).body).toEqual(next);
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'changing' }));
    await expect(get('changing')).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('an object larger than max_object_size is not cached', async () => {
    const body = randomBytes(41 * 1024);
    await put('big', body);
    const before = await metrics();
    expect((await get('big')).body).toEqual(body);
    expect((await get('big')).body).toEqual(body);
    const after = await metrics();
    expect(backendGets(after) - backendGets(before)).toBe(2);
    expect(value(after, 's3o_cache_hits_total')).toBe(value(before, 's3o_cache_hits_total'));
  });

  it('evicts the least recently used objects to stay under max_size', async () => {
    const before = await metrics();
    const bodies = [0, 1, 2, 3].map(() => randomBytes(30_000));
    for (const [i, b] of bodies.entries()) {
      await put(`evict/${i}`, b);
      expect((await get(`evict/${i}`)).body).toEqual(b);
    }
    const after = await metrics();
    // 100 KiB hold three 30 000-byte objects: filling four evicted at least the oldest ones.
    expect(value(after, 's3o_cache_evictions_total{reason="size"}') - value(before, 's3o_cache_evictions_total{reason="size"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 's3o_cache_size_bytes')).toBeLessThanOrEqual(100 * 1024);
    expect(value(after, 's3o_cache_entries')).toBe(3);
    // The newest is still cached, the oldest is read from the backend again.
    expect((await get('evict/3')).body).toEqual(bodies[3]);
    expect(backendGets(await metrics())).toBe(backendGets(after));
    expect((await get('evict/0')).body).toEqual(bodies[0]);
    expect(backendGets(await metrics())).toBe(backendGets(after) + 1);
  });
});

describe('the object cache with encryption at rest', () => {
  let stack: TestStack;
  let s3: S3Client;
  const { metrics, get, put } = probes(() => stack, () => s3);
  beforeAll(async () => {
    stack = await startStack({ extraYaml: `${cacheYaml}\nencryption:\n  enabled: true\n  master_key: ${randomBytes(32).toString('base64')}\n  chunk_size: 4KiB` });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  it('caches the plaintext: a hit and a range from it give the client\'s bytes', async () => {
    const body = randomBytes(20_000);
    await put('secret', body);
    expect((await get('secret')).body).toEqual(body);
    const before = await metrics();
    expect((await get('secret')).body).toEqual(body);
    expect((await get('secret', { Range: 'bytes=4090-4200' })).body).toEqual(body.subarray(4090, 4201));
    const after = await metrics();
    expect(value(after, 's3o_cache_hits_total') - value(before, 's3o_cache_hits_total')).toBe(2);
    expect(backendGets(after)).toBe(backendGets(before));
    expect(value(after, 's3o_cache_size_bytes')).toBe(20_000);
  });
});

describe('the object cache with verify_on_read', () => {
  let stack: TestStack;
  let s3: S3Client;
  const { metrics, get, put } = probes(() => stack, () => s3);
  const integrityYaml = 'replication:\n  factor: 2\n  write_copies: 2\n  worker_interval: 1h\nintegrity:\n  enabled: true\n  verify_on_read: true';
  beforeAll(async () => {
    stack = await startStack({ backends: [{}, {}], extraYaml: `${cacheYaml}\n${integrityYaml}`, serverYaml: '  small_body_buffer: 4KiB' });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  /** Replaces the bytes of the copy of `key` on b1 (read first) with as many wrong ones. */
  async function corruptFirstCopy(key: string, size: number): Promise<void> {
    const { rows } = await stack.db.pool.query<{ storage_key: string }>(
      "SELECT storage_key FROM object_copies WHERE bucket = 'alpha' AND key = $1 AND backend = 'b1'", [key]);
    await putOnBackend(stack.s3rvers[0] as S3rverInstance, rows[0]!.storage_key, 'x'.repeat(size));
  }

  it('a small object is cached from the copy that passed the check, never the corrupt one', async () => {
    const body = randomBytes(3000);
    await put('checked', body);
    await corruptFirstCopy('checked', 3000);
    const repairs = value(await metrics(), 's3o_integrity_repairs_total');
    expect((await get('checked')).body).toEqual(body);
    // The corrupt copy is repaired in the background (a backend read): wait for it, so it is not counted below.
    await expect.poll(async () => value(await metrics(), 's3o_integrity_repairs_total'), { timeout: 10_000, interval: 50 }).toBe(repairs + 1);
    const before = await metrics();
    expect((await get('checked')).body).toEqual(body);
    const after = await metrics();
    expect(value(after, 's3o_cache_hits_total') - value(before, 's3o_cache_hits_total')).toBe(1);
    expect(backendGets(after)).toBe(backendGets(before));
  });

  it('a streamed read that fails its check fills nothing', async () => {
    const body = randomBytes(20_000);
    await put('streamed', body);
    await corruptFirstCopy('streamed', 20_000);
    const before = await metrics();
    await expect(get('streamed')).rejects.toThrow();
    // The corrupt copy is recorded and repaired from the healthy one; until then it could be read first again.
    await expect.poll(async () => value(await metrics(), 's3o_integrity_repairs_total'), { timeout: 10_000, interval: 50 })
      .toBe(value(before, 's3o_integrity_repairs_total') + 1);
    expect(value(await metrics(), 's3o_cache_entries')).toBe(value(before, 's3o_cache_entries'));
    // The next read is a miss, served (and cached) from the healthy copy.
    expect((await get('streamed')).body).toEqual(body);
    const after = await metrics();
    expect(value(after, 's3o_cache_hits_total')).toBe(value(before, 's3o_cache_hits_total'));
    expect(value(after, 's3o_cache_entries')).toBe(value(before, 's3o_cache_entries') + 1);
  });
});
