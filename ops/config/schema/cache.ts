import { z } from 'zod';
import { duration, flag, size } from '../fields.js';
import type { CacheConfig } from '../../../domain/config/config.js';

/**
 * The object cache (services/cache/object-cache.ts): whole objects up to `max_object_size`, at
 * most `max_size` bytes in all, each entry dropped `ttl` after it was filled. Reloadable.
 */
export const cacheSchema: z.ZodType<CacheConfig> = z.strictObject({
  enabled: flag(false),
  max_size: size('256MB', { positive: true }),
  max_object_size: size('10MB', { positive: true }),
  ttl: duration('5m', { positive: true }),
}).superRefine((cache, ctx) => {
  if (cache.max_object_size > cache.max_size) {
    ctx.addIssue({
      code: 'custom', path: ['max_object_size'],
      message: `must not be larger than cache.max_size (${cache.max_size} bytes): an object that size could never be cached`,
    });
  }
});
