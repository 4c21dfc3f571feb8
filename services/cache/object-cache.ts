import { pipeline, type Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { CacheConfig } from '../../domain/config/config.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import type { CacheMetrics } from '../../infra/telemetry/cache-metrics.js';
import type { ObjectChangeListener } from '../objects/object-change-feed.js';
import { CacheFill } from './cache-fill.js';

/** One cached object: the client's (plaintext) bytes of one version. */
interface Entry {
  writeId: string;
  etag: string;
  bytes: Buffer;
}

export interface CacheStats {
  enabled: boolean;
  entries: number;
  sizeBytes: number;
  maxSize: number;
  maxObjectSize: number;
  ttlMs: number;
  /** Since this instance started. */
  hits: number;
  misses: number;
  evictions: number;
}

/** The version a read is for: only its identity matters to the cache. */
export type CachedVersion = Pick<ObjectVersion, 'writeId' | 'etag' | 'size'>;

/**
 * The object cache: a size-aware LRU (lru-cache, bounded by `max_size` bytes, entries expiring
 * after `ttl`) of whole objects' plaintext, per instance and in memory only. An entry holds one
 * version of a key and answers only a read of that version (its write id and ETag): the reader
 * looks the current version up first, so a version replaced anywhere is a miss, never stale bytes.
 * Invalidation (a change to the key here or on another instance, an operator's command) frees
 * the memory early.
 */
export class ObjectCache {
  private lru: LRUCache<string, Entry> | undefined;
  private settings: CacheConfig;
  /**
   * Keys a read is filling now: one fill per key at a time, so one object is held once. A fill
   * whose key is invalidated meanwhile stores nothing (it may have read the replaced version).
   */
  private readonly filling = new Map<string, { writeId: string; cancelled: boolean }>();
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };

  constructor(settings: CacheConfig, private readonly metrics: CacheMetrics) {
    this.settings = settings;
    this.lru = ObjectCache.create(settings, (reason) => this.evicted(reason));
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  private static create(s: CacheConfig, evicted: (reason: 'size' | 'ttl') => void): LRUCache<string, Entry> | undefined {
    if (!s.enabled) return undefined;
    return new LRUCache<string, Entry>({
      maxSize: s.max_size,
      maxEntrySize: Math.min(s.max_object_size, s.max_size),
      sizeCalculation: (e) => Math.max(1, e.bytes.length),
      ttl: s.ttl,
      dispose: (_entry, _id, reason) => {
        if (reason === 'evict') evicted('size');
        else if (reason === 'expire') evicted('ttl');
      },
    });
  }

  private evicted(reason: 'size' | 'ttl'): void {
    this.counts.evictions += 1;
    this.metrics.evictions.inc({ reason });
  }

  /**
   * New settings (a reload). A change of size, object size or TTL starts an empty cache with
   * them (lru-cache fixes its bounds when it is made); disabling drops every entry.
   */
  configure(next: CacheConfig): void {
    const s = this.settings;
    if (s.enabled === next.enabled && s.max_size === next.max_size && s.max_object_size === next.max_object_size && s.ttl === next.ttl) return;
    this.settings = next;
    this.cancelFills(() => true);
    this.lru?.clear();
    this.lru = ObjectCache.create(next, (reason) => this.evicted(reason));
  }

  private static id(bucket: string, key: string): string {
    // A bucket name has no '/', so `bucket/key` names one object and a prefix is a string prefix.
    return `${bucket}/${key}`;
  }

  /** The bytes of version `v` of bucket/key when cached (a hit), else undefined (a miss). */
  read(bucket: string, key: string, v: CachedVersion): Buffer | undefined {
    if (!this.lru) return undefined;
    const id = ObjectCache.id(bucket, key);
    const entry = this.lru.get(id);
    if (entry && entry.writeId === v.writeId && entry.etag === v.etag) {
      this.counts.hits += 1;
      this.metrics.hits.inc();
      return entry.bytes;
    }
    // Another version of the key: it is not what the key holds now.
    if (entry) this.lru.delete(id);
    this.counts.misses += 1;
    this.metrics.misses.inc();
    return undefined;
  }

  /**
   * The body of a full read of version `v`, to send to the client, filling the cache as it is
   * sent: a Buffer (already read and checked whole) is stored as it is; a stream is passed
   * through a `CacheFill`, stored only when it ends complete. An object over `max_object_size`,
   * or one another read of the key is filling, passes untouched.
   */
  fill<B extends Readable | Buffer>(bucket: string, key: string, v: CachedVersion, body: B): B | Readable {
    const limit = Math.min(this.settings.max_object_size, this.settings.max_size);
    if (!this.lru || v.size === 0 || v.size > limit) return body;
    const id = ObjectCache.id(bucket, key);
    const entryOf = (bytes: Buffer): Entry => ({ writeId: v.writeId, etag: v.etag, bytes });
    if (Buffer.isBuffer(body)) {
      if (body.length === v.size) this.lru.set(id, entryOf(body));
      return body;
    }
    if (this.filling.has(id)) return body;
    const state = { writeId: v.writeId, cancelled: false };
    this.filling.set(id, state);
    const fill = new CacheFill(v.size, limit, {
      store: (bytes) => {
        if (!state.cancelled) this.lru?.set(id, entryOf(bytes));
      },
      revoke: () => {
        if (this.lru?.peek(id)?.writeId === v.writeId) this.lru.delete(id);
      },
    });
    fill.once('close', () => this.filling.delete(id));
    // pipeline: a failing source fails the fill (nothing is stored), a client gone away ends the source.
    pipeline(body, fill, () => undefined);
    return fill;
  }

  private cancelFills(matches: (id: string) => boolean): void {
    for (const [id, state] of this.filling) if (matches(id)) state.cancelled = true;
  }

  /** Drops bucket/key; true when it was cached. */
  invalidate(bucket: string, key: string): boolean {
    const id = ObjectCache.id(bucket, key);
    this.cancelFills((filling) => filling === id);
    return this.lru?.delete(id) ?? false;
  }

  /** Bucket/key now holds version `writeId` (undefined: deleted): drops any other version of it. */
  changed(bucket: string, key: string, writeId: string | undefined): void {
    const id = ObjectCache.id(bucket, key);
    for (const [filling, state] of this.filling) if (filling === id && state.writeId !== writeId) state.cancelled = true;
    const entry = this.lru?.peek(id);
    if (entry && entry.writeId !== writeId) this.lru?.delete(id);
  }

  /** Drops every key of `bucket` starting with `prefix`; returns how many were cached. */
  invalidatePrefix(bucket: string, prefix: string): number {
    if (!this.lru) return 0;
    const start = ObjectCache.id(bucket, prefix);
    this.cancelFills((id) => id.startsWith(start));
    const doomed = [...this.lru.keys()].filter((id) => id.startsWith(start));
    for (const id of doomed) this.lru.delete(id);
    return doomed.length;
  }

  /** Drops every entry; returns how many there were. */
  flush(): number {
    if (!this.lru) return 0;
    this.cancelFills(() => true);
    this.lru.purgeStale();
    const n = this.lru.size;
    this.lru.clear();
    return n;
  }

  stats(): CacheStats {
    this.lru?.purgeStale();
    const s = this.settings;
    const entries = this.lru?.size ?? 0;
    const sizeBytes = this.lru?.calculatedSize ?? 0;
    this.metrics.entries.set(entries);
    this.metrics.sizeBytes.set(sizeBytes);
    return {
      enabled: this.enabled, entries, sizeBytes, maxSize: s.max_size, maxObjectSize: s.max_object_size, ttlMs: s.ttl, ...this.counts,
    };
  }
}

/**
 * Drops an object's entry when another version of it is committed (here or elsewhere) or it is
 * deleted; an entry of the version just committed stays (a read may have cached it before the notice came).
 */
export function cacheInvalidation(cache: ObjectCache): ObjectChangeListener {
  return {
    changed(changes) {
      for (const c of changes) if (c.versionChanged) cache.changed(c.bucket, c.key, c.writeId);
    },
    // Missed notices leave entries of replaced versions, which a read never matches (see ObjectCache).
    unknown() {},
  };
}
