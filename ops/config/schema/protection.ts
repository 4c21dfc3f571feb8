/** Request protection: per-IP rate limit, the database breaker, per-backend breakers. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, flag, integer, list, positiveNumber, requiredText } from '../fields.js';
import type { BackendCircuitBreakerConfig, CircuitBreakerConfig, RateLimitConfig } from '../../../domain/config/config.js';

export function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value.trim());
  if (!match) return false;
  const family = isIP(match[1] ?? '');
  const bits = Number(match[2]);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

const cidr = requiredText().refine(isCidr, 'must be a CIDR such as 10.0.0.0/8 or fd00::/8');

/** Trusted proxies are checked even while the limiter is off, so a later reload cannot trip on a typo. */
export const rateLimitSchema: z.ZodType<RateLimitConfig> = z.strictObject({
  enabled: flag(false),
  requests_per_sec: positiveNumber(100),
  burst: integer(200, { min: 1 }),
  cleanup_interval: duration('1m', { positive: true }),
  cleanup_max_age: duration('5m', { positive: true }),
  trusted_proxies: list(cidr),
});

export const circuitBreakerSchema: z.ZodType<CircuitBreakerConfig> = z.strictObject({
  failure_threshold: integer(3, { min: 1 }),
  open_timeout: duration('15s', { positive: true }),
  cache_ttl: duration('60s', { positive: true }),
  parallel_broadcast: flag(false),
  degraded_broadcast_parallelism: integer(0, { min: 0 }),
});

export const backendCircuitBreakerSchema: z.ZodType<BackendCircuitBreakerConfig> = z.strictObject({
  enabled: flag(false),
  failure_threshold: integer(5, { min: 1 }),
  open_timeout: duration('5m', { positive: true }),
});
