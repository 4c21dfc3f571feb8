/** The background workers' sections: rebalance, replication, cleanup, lifecycle, reconcile, usage flush. */
import { z } from 'zod';
import { duration, flag, fraction, integer, list, oneOf, optionalText, requiredInteger, requiredText } from '../fields.js';
import type {
  CleanupQueueConfig, LifecycleConfig, LifecycleRule, RebalanceConfig, ReconcileConfig, ReplicationConfig, UsageFlushConfig,
} from '../../../domain/config/config.js';
import { placementStrategies } from './server.js';

export const rebalanceSchema: z.ZodType<RebalanceConfig> = z.strictObject({
  enabled: flag(false),
  strategy: oneOf(placementStrategies, 'pack'),
  interval: duration('6h', { positive: true }),
  batch_size: integer(100, { min: 1 }),
  threshold: fraction(0.1, { min: 0, max: 1, minExclusive: true }),
  concurrency: integer(5, { min: 1 }),
});

export const replicationSchema: z.ZodType<ReplicationConfig> = z.strictObject({
  factor: integer(1, { min: 1 }),
  write_copies: integer(1, { min: 1 }),
  worker_interval: duration('5m', { positive: true }),
  batch_size: integer(50, { min: 1 }),
  concurrency: integer(5, { min: 1 }),
  unhealthy_threshold: duration('10m', { positive: true }),
}).superRefine((replication, ctx) => {
  if (replication.write_copies > replication.factor) {
    ctx.addIssue({ code: 'custom', path: ['write_copies'], message: `(${replication.write_copies}) must not exceed replication.factor (${replication.factor})` });
  }
});

export const cleanupQueueSchema: z.ZodType<CleanupQueueConfig> = z.strictObject({
  concurrency: integer(10, { min: 1 }),
  max_attempts: integer(10, { min: 1 }),
  multipart_stale_timeout: duration('24h', { positive: true }),
  failed_write_grace: duration('5m'),
});

const lifecycleRuleSchema: z.ZodType<LifecycleRule> = z.strictObject({
  bucket: optionalText(),
  prefix: requiredText(),
  expiration_days: requiredInteger({ min: 1 }),
});

export const lifecycleSchema: z.ZodType<LifecycleConfig> = z.strictObject({
  interval: duration('1h', { positive: true }),
  batch_size: integer(100, { min: 1 }),
  rules: list(lifecycleRuleSchema),
});

export const reconcileSchema: z.ZodType<ReconcileConfig> = z.strictObject({
  enabled: flag(false),
  interval: duration('24h', { positive: true }),
});

export const usageFlushSchema: z.ZodType<UsageFlushConfig> = z.strictObject({
  interval: duration('30s', { positive: true }),
  adaptive_enabled: flag(false),
  adaptive_threshold: fraction(0.8, { min: 0, max: 1, minExclusive: true, maxExclusive: true }),
  fast_interval: duration('5s', { positive: true }),
}).superRefine((flush, ctx) => {
  if (flush.fast_interval >= flush.interval) {
    ctx.addIssue({ code: 'custom', path: ['fast_interval'], message: 'must be shorter than usage_flush.interval' });
  }
});
