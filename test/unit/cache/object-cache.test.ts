import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CacheConfig } from '../../../domain/config/config.js';
import { createCacheMetrics } from '../../../infra/telemetry/cache-metrics.js';
import { cacheInvalidation, ObjectCache } from '../../../services/cache/object-cache.js';

const settings = (over: Partial<CacheConfig> = {}): CacheConfig => ({ enabled: true, max_size: 1000, max_object_size: 400, ttl: 60_000, ...over });
const version = (writeId: string, size: number) => ({ writeId, etag: `etag-${writeId}`, size });
const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

function newCache(over: Partial<CacheConfig> = {}) {
  const registry = new Registry();
  const metrics = createCacheMetrics(registry);
  return { cache: new ObjectCache(settings(over), metrics), metrics, registry };
}

/** Sends `chunks` through the cache's fill as a GET would and returns what the client received. */
async function readThrough(cache: ObjectCache, key: string, v: ReturnType<typeof version>, chunks: Buffer[]): Promise<Buffer> {
  const body = cache.fill('b', key, v, Readable.from(chunks)) as Readable;
  const got: Buffer[] = [];
  for await (const c of body) got.push(c as Buffer);
  return Buffer.concat(got);
}

describe('ObjectCache', () => {
  it('serves a streamed read the second time, for that version only', async () => {
    const { cache } = newCache();
    const v1 = version('w1', 300);
    expect(cache.read('b', 'k', v1)).toBeUndefined();
    const sent = await readThrough(cache, 'k', v1, [bytes(100, 1), bytes(200, 2)]);
    expect(sent).toEqual(Buffer.concat([bytes(100, 1), bytes(200, 2)]));
    expect(cache.read('b', 'k', v1)).toEqual(sent);
    // The key now holds another version: the entry is not it, and goes.
    expect(cache.read('b', 'k', version('w2', 300))).toBeUndefined();
    expect(cache.read('b', 'k', v1)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 3, entries: 0 });
  });

  it('stores a buffer read (a verified small object) as it is', () => {
    const { cache } = newCache();
    const body = bytes(50);
    expect(cache.fill('b', 'k', version('w1', 50), body)).toBe(body);
    expect(cache.read('b', 'k', version('w1', 50))).toBe(body);
  });

  it('passes an object over max_object_size through without holding it', async () => {
    const { cache } = newCache();
    const v = version('w1', 401);
    const source = Readable.from([bytes(401)]);
    expect(cache.fill('b', 'k', v, source)).toBe(source);
    expect(cache.stats().entries).toBe(0);
  });

  it('abandons a fill that brings more bytes than the version has, and keeps nothing from a failed read', async () => {
    const { cache } = newCache();
    await readThrough(cache, 'long', version('w1', 100), [bytes(60), bytes(60)]);
    expect(cache.read('b', 'long', version('w1', 100))).toBeUndefined();
    const failing = Readable.from((async function* gen() {
      yield bytes(60);
      throw new Error('backend went away');
    })());
    const body = cache.fill('b', 'failed', version('w1', 100), failing) as Readable;
    body.resume();
    await expect(finished(body)).rejects.toThrow('backend went away');
    expect(cache.read('b', 'failed', version('w1', 100))).toBeUndefined();
  });

  it('stores the object before its last byte goes on, and revokes it if more bytes follow', async () => {
    const { cache } = newCache();
    const source = new Readable({ read() {} });
    const body = cache.fill('b', 'k', version('w1', 20), source) as Readable;
    const seenAtLastByte: (Buffer | undefined)[] = [];
    let received = 0;
    body.on('data', (c: Buffer) => {
      received += c.length;
      if (received === 20) seenAtLastByte.push(cache.read('b', 'k', version('w1', 20)));
    });
    source.push(bytes(10));
    source.push(bytes(10));
    await new Promise((r) => setImmediate(r));
    expect(seenAtLastByte[0]).toEqual(bytes(20));
    source.push(bytes(1));
    source.push(null);
    await finished(body);
    expect(cache.read('b', 'k', version('w1', 20))).toBeUndefined();
  });

  it('a fill whose key is invalidated while it reads stores nothing', async () => {
    const { cache } = newCache();
    const source = new Readable({ read() {} });
    const body = cache.fill('b', 'k', version('w1', 20), source) as Readable;
    body.resume();
    source.push(bytes(10));
    cache.invalidate('b', 'k');
    source.push(bytes(10));
    source.push(null);
    await finished(body);
    expect(cache.read('b', 'k', version('w1', 20))).toBeUndefined();
  });

  it('a client that goes away mid-read ends the backend read and leaves nothing', async () => {
    const { cache } = newCache();
    const source = new Readable({ read() {} });
    source.push(bytes(50));
    const body = cache.fill('b', 'k', version('w1', 100), source) as Readable;
    body.destroy();
    await finished(source).catch(() => undefined);
    expect(source.destroyed).toBe(true);
    expect(cache.read('b', 'k', version('w1', 100))).toBeUndefined();
  });

  it('fills one key from one read at a time', async () => {
    const { cache } = newCache();
    const first = new Readable({ read() {} });
    const filling = cache.fill('b', 'k', version('w1', 10), first);
    const second = Readable.from([bytes(10)]);
    expect(cache.fill('b', 'k', version('w1', 10), second)).toBe(second);
    (filling as Readable).resume();
    first.push(bytes(10));
    first.push(null);
    await finished(filling as Readable);
    expect(cache.read('b', 'k', version('w1', 10))).toEqual(bytes(10));
  });

  it('evicts the least recently used entries to stay under max_size, and counts them', async () => {
    const { cache, registry } = newCache();
    cache.fill('b', 'a', version('a', 400), bytes(400));
    cache.fill('b', 'b', version('b', 400), bytes(400));
    expect(cache.read('b', 'a', version('a', 400))).toBeDefined();
    cache.fill('b', 'c', version('c', 400), bytes(400));
    expect(cache.read('b', 'b', version('b', 400))).toBeUndefined();
    expect(cache.read('b', 'a', version('a', 400))).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 2, sizeBytes: 800, evictions: 1 });
    expect(await registry.getSingleMetricAsString('s3o_cache_evictions_total')).toContain('s3o_cache_evictions_total{reason="size"} 1');
    expect(await registry.getSingleMetricAsString('s3o_cache_size_bytes')).toContain('s3o_cache_size_bytes 800');
  });

  it('invalidates a key, a prefix of a bucket, or everything', () => {
    const { cache } = newCache({ max_size: 10_000 });
    for (const k of ['logs/1', 'logs/2', 'img/1']) cache.fill('b', k, version(k, 10), bytes(10));
    cache.fill('other', 'logs/1', version('o', 10), bytes(10));
    expect(cache.invalidate('b', 'img/1')).toBe(true);
    expect(cache.invalidate('b', 'img/1')).toBe(false);
    expect(cache.invalidatePrefix('b', 'logs/')).toBe(2);
    expect(cache.read('other', 'logs/1', version('o', 10))).toBeDefined();
    expect(cache.flush()).toBe(1);
    expect(cache.stats().entries).toBe(0);
  });

  it('drops an entry when its key gets another version or is deleted, not for its own version or a copy change', () => {
    const { cache } = newCache();
    const listener = cacheInvalidation(cache);
    cache.fill('b', 'k', version('w1', 10), bytes(10));
    listener.changed([{ bucket: 'b', key: 'k', versionChanged: false }]);
    expect(cache.stats().entries).toBe(1);
    listener.changed([{ bucket: 'b', key: 'k', versionChanged: true, writeId: 'w1' }]);
    expect(cache.stats().entries).toBe(1);
    listener.changed([{ bucket: 'b', key: 'k', versionChanged: true, writeId: 'w2' }]);
    expect(cache.stats().entries).toBe(0);
    cache.fill('b', 'k', version('w2', 10), bytes(10));
    listener.changed([{ bucket: 'b', key: 'k', versionChanged: true }]);
    expect(cache.stats().entries).toBe(0);
  });

  it('does nothing while disabled, and a reload with new bounds starts empty', () => {
    const { cache } = newCache({ enabled: false });
    expect(cache.fill('b', 'k', version('w1', 10), bytes(10))).toEqual(bytes(10));
    expect(cache.read('b', 'k', version('w1', 10))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ enabled: false, misses: 0 });
    cache.configure(settings());
    cache.fill('b', 'k', version('w1', 10), bytes(10));
    cache.configure(settings());
    expect(cache.stats().entries).toBe(1);
    cache.configure(settings({ max_size: 2000 }));
    expect(cache.stats()).toMatchObject({ enabled: true, entries: 0, maxSize: 2000 });
  });
});
