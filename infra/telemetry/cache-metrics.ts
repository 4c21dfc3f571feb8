import { Counter, Gauge, type Registry } from 'prom-client';

/** The object cache's families (the original's names); labels never carry object names. */
export function createCacheMetrics(registry: Registry) {
  const registers = [registry];
  return {
    hits: new Counter({ name: 's3o_cache_hits_total', help: 'GETs served from the object cache', registers }),
    misses: new Counter({ name: 's3o_cache_misses_total', help: 'GETs the object cache could not serve (read from a backend)', registers }),
    evictions: new Counter({
      name: 's3o_cache_evictions_total', help: 'Entries dropped to stay under cache.max_size (reason size) or after cache.ttl (reason ttl)',
      labelNames: ['reason'], registers,
    }),
    sizeBytes: new Gauge({ name: 's3o_cache_size_bytes', help: 'Bytes of object data held by the object cache', registers }),
    entries: new Gauge({ name: 's3o_cache_entries', help: 'Objects held by the object cache', registers }),
  };
}

export type CacheMetrics = ReturnType<typeof createCacheMetrics>;
