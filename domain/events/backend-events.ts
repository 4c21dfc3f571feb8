import { z } from 'zod';

export const BackendLimits = z.object({
  quotaBytes: z.number().int().nonnegative(),
  apiRequestLimit: z.number().int().nonnegative(),
  egressByteLimit: z.number().int().nonnegative(),
  ingressByteLimit: z.number().int().nonnegative(),
});
export type BackendLimits = z.infer<typeof BackendLimits>;

export const BackendRegistered = z.object({
  backend: z.string(),
  endpoint: z.string(),
  bucket: z.string(),
  region: z.string(),
  limits: BackendLimits,
});
export const BackendLimitsChanged = z.object({ backend: z.string(), limits: BackendLimits, previous: BackendLimits });
export const BackendDrainStarted = z.object({ backend: z.string(), jobId: z.string() });
export const BackendDrained = z.object({ backend: z.string(), jobId: z.string() });
export const BackendDrainCancelled = z.object({ backend: z.string(), jobId: z.string() });
export const BackendReactivated = z.object({ backend: z.string(), previousState: z.string() });
export const BackendRemoved = z.object({ backend: z.string(), jobId: z.string().optional() });
export const BackendPurged = z.object({ backend: z.string(), jobId: z.string() });

export const backendEvents = {
  BackendRegistered: { version: 1, schema: BackendRegistered },
  BackendLimitsChanged: { version: 1, schema: BackendLimitsChanged },
  BackendDrainStarted: { version: 1, schema: BackendDrainStarted },
  BackendDrained: { version: 1, schema: BackendDrained },
  BackendDrainCancelled: { version: 1, schema: BackendDrainCancelled },
  BackendReactivated: { version: 1, schema: BackendReactivated },
  BackendRemoved: { version: 1, schema: BackendRemoved },
  BackendPurged: { version: 1, schema: BackendPurged },
} as const;
