/**
 * Sections of features this version does not implement yet (see ../not-implemented.ts).
 * Their keys are accepted and type-checked so an existing config reads cleanly; switching
 * one of them on is reported by the not-implemented table. Feature-specific rules (key
 * sources, required addresses) belong with the feature when it lands.
 */
import { z } from 'zod';
import { duration, flag, fraction, integer, oneOf, optionalText, size, text } from '../fields.js';
import type { CompressionConfig, IntegrityConfig, RedisConfig } from '../../../domain/config/config.js';

export const compressionSchema: z.ZodType<CompressionConfig> = z.strictObject({
  enabled: flag(false),
  level: oneOf(['fastest', 'default', 'better', 'best'], 'default'),
  chunk_size: size('1MiB', { positive: true }),
  min_size: size(4096),
  min_ratio: fraction(0.95, { min: 0, max: 1, minExclusive: true }),
});

export const integritySchema: z.ZodType<IntegrityConfig> = z.strictObject({
  enabled: flag(false),
  verify_on_read: flag(false),
  verify_on_replicate: flag(false),
  scrubber_interval: duration(0),
  scrubber_batch_size: integer(100, { min: 1 }),
});

export const redisSchema: z.ZodType<RedisConfig> = z.strictObject({
  address: optionalText(),
  password: optionalText(),
  db: integer(0, { min: 0 }),
  tls: flag(false),
  key_prefix: text('s3orch'),
  failure_threshold: integer(3, { min: 1 }),
  open_timeout: duration('15s', { positive: true }),
});
