import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import type { CacheAdmin } from '../../services/cache/cache-admin.js';
import type { AdminAudit } from './admin-audit.js';
import { parseInput } from './admin-input.js';

export interface CacheRouteDeps {
  cache: CacheAdmin;
  audit: AdminAudit;
}

/** `B/K` (or `B/P`): a bucket name, which has no '/', and the rest. */
const bucketPath = (shape: string, emptyRest: boolean) => z.string({ error: `must be ${shape}` })
  .regex(emptyRest ? /^[^/]+\/[^]*$/ : /^[^/]+\/[^]+$/, `must be ${shape}`)
  .transform((s) => ({ bucket: s.slice(0, s.indexOf('/')), rest: s.slice(s.indexOf('/') + 1) }));
const KeyInput = z.object({ key: bucketPath('<bucket>/<key>', false) });
const PrefixInput = z.object({ prefix: bucketPath('<bucket>/<prefix> (an empty prefix, <bucket>/, is the whole bucket)', true) });

/** From the JSON body, else the query string (`curl -X POST '…/cache/invalidate?key=B/K'`). */
function inputOf<S extends z.ZodType>(schema: S, req: FastifyRequest): z.infer<S> {
  return req.body === undefined ? parseInput(schema, req.query, 'query') : parseInput(schema, req.body, 'body');
}

/**
 * The object cache (`s3o admin cache-*`): `GET cache/stats` (this instance's figures), `POST
 * cache/flush`, `POST cache/invalidate` (`key: B/K`), `POST cache/invalidate-prefix`
 * (`prefix: B/P`); a flush or invalidation also goes to the other instances. All answer 503 while
 * cache.enabled is false.
 */
export function registerCacheRoutes(app: FastifyInstance, deps: CacheRouteDeps): void {
  const { cache, audit } = deps;
  const requireEnabled = (): void => {
    if (!cache.enabled()) {
      throw new DomainError('ServiceUnavailable', 'the object cache is disabled (cache.enabled: false); enable it in the configuration, then reload (SIGHUP) or restart');
    }
  };
  app.get('/cache/stats', async () => {
    requireEnabled();
    const s = cache.stats();
    return {
      instance: cache.instanceId, entries: s.entries, size_bytes: s.sizeBytes, max_size: s.maxSize, max_object_size: s.maxObjectSize,
      ttl_seconds: s.ttlMs / 1000, hits: s.hits, misses: s.misses, evictions: s.evictions,
      hit_ratio: s.hits + s.misses === 0 ? null : s.hits / (s.hits + s.misses),
    };
  });
  app.post('/cache/flush', async (req) => {
    requireEnabled();
    await audit.issue(req, 'cache-flush', {});
    const r = await cache.flush();
    return { status: 'ok', instance: cache.instanceId, dropped: r.dropped, broadcast: r.broadcast };
  });
  app.post('/cache/invalidate', async (req) => {
    requireEnabled();
    const { key } = inputOf(KeyInput, req);
    const path = `${key.bucket}/${key.rest}`;
    await audit.issue(req, 'cache-invalidate', { key: path });
    const r = await cache.invalidate(key.bucket, key.rest);
    return { status: 'ok', instance: cache.instanceId, key: path, dropped: r.dropped, broadcast: r.broadcast };
  });
  app.post('/cache/invalidate-prefix', async (req) => {
    requireEnabled();
    const { prefix } = inputOf(PrefixInput, req);
    const path = `${prefix.bucket}/${prefix.rest}`;
    await audit.issue(req, 'cache-invalidate-prefix', { prefix: path });
    const r = await cache.invalidatePrefix(prefix.bucket, prefix.rest);
    return { status: 'ok', instance: cache.instanceId, prefix: path, dropped: r.dropped, broadcast: r.broadcast };
  });
}
