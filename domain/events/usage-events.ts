import { z } from 'zod';

/** Per-flush deltas of a backend's monthly usage (never one event per request). */
export const UsageFlushed = z.object({
  backend: z.string(),
  period: z.string().regex(/^\d{4}-\d{2}$/),
  apiRequests: z.number().int().nonnegative(),
  egressBytes: z.number().int().nonnegative(),
  ingressBytes: z.number().int().nonnegative(),
});

export const usageEvents = {
  UsageFlushed: { version: 1, schema: UsageFlushed },
} as const;
