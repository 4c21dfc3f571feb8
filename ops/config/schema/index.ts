/** The top-level sections of the config file, each validated on its own (see ../loader.ts). */
import type { z } from 'zod';
import { section } from '../fields.js';
import type { Config } from '../../../domain/config/config.js';
import { backendsSchema } from './backends.js';
import { bucketsSchema } from './buckets.js';
import { cacheSchema } from './cache.js';
import { databaseSchema } from './database.js';
import { encryptionSchema } from './encryption.js';
import { compressionSchema, integritySchema, redisSchema } from './features.js';
import { notificationsSchema, telemetrySchema, uiSchema } from './observability.js';
import { backendCircuitBreakerSchema, circuitBreakerSchema, rateLimitSchema } from './protection.js';
import { routingStrategySchema, serverSchema } from './server.js';
import { cleanupQueueSchema, lifecycleSchema, rebalanceSchema, reconcileSchema, replicationSchema, usageFlushSchema } from './workers.js';

export const sectionSchemas = {
  server: section(serverSchema),
  database: section(databaseSchema),
  buckets: bucketsSchema,
  backends: backendsSchema,
  routing_strategy: routingStrategySchema,
  encryption: section(encryptionSchema),
  compression: section(compressionSchema),
  integrity: section(integritySchema),
  cache: section(cacheSchema),
  redis: redisSchema.optional().transform((redis) => redis ?? null),
  rebalance: section(rebalanceSchema),
  replication: section(replicationSchema),
  cleanup_queue: section(cleanupQueueSchema),
  lifecycle: section(lifecycleSchema),
  reconcile: section(reconcileSchema),
  rate_limit: section(rateLimitSchema),
  circuit_breaker: section(circuitBreakerSchema),
  backend_circuit_breaker: section(backendCircuitBreakerSchema),
  usage_flush: section(usageFlushSchema),
  notifications: section(notificationsSchema),
  telemetry: section(telemetrySchema),
  ui: section(uiSchema),
} as const satisfies { readonly [K in keyof Config]: z.ZodType<Config[K]> };

export type SectionName = keyof typeof sectionSchemas;

export const sectionNames = Object.keys(sectionSchemas) as SectionName[];
