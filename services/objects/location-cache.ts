import { LRUCache } from 'lru-cache';
import type { ObjectVersion } from '../../domain/objects/object-state.js';

/**
 * Where recently read or written objects are, kept only to serve reads while the database is
 * unreachable (degraded mode). Normal reads always ask the database, so this never serves a
 * version older than one a client saw committed while the database is up.
 */
export class LocationCache {
  private readonly cache: LRUCache<string, ObjectVersion>;

  constructor(ttlMs: number, max = 100_000) {
    this.cache = new LRUCache({ max, ttl: ttlMs });
  }

  private static id(bucket: string, key: string): string {
    return `${bucket}\u0000${key}`;
  }

  remember(bucket: string, key: string, version: ObjectVersion | undefined): void {
    if (version) this.cache.set(LocationCache.id(bucket, key), version);
    else this.cache.delete(LocationCache.id(bucket, key));
  }

  get(bucket: string, key: string): ObjectVersion | undefined {
    return this.cache.get(LocationCache.id(bucket, key));
  }
}
