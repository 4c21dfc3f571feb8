import { z } from 'zod';

/** The operator audit trail: who asked for what, from where. */
export const AdminCommandIssued = z.object({
  command: z.string(),
  args: z.record(z.string(), z.unknown()),
  remoteAddress: z.string().optional(),
});

export const adminEvents = {
  AdminCommandIssued: { version: 1, schema: AdminCommandIssued },
} as const;
