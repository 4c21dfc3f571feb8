import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { Config } from '../../domain/config/config.js';
import { sendAdminError } from './admin-errors.js';

/** The admin token: `ui.admin_token`, else `ui.admin_key` (as the original). */
export function adminToken(config: Config): string | undefined {
  return config.ui.admin_token || config.ui.admin_key || undefined;
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Runs before anything else on an admin request (before its body is read): without a
 * configured token the admin API does not exist; without the right X-Admin-Token it refuses.
 */
export function requireAdminToken(config: () => Config) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = adminToken(config());
    if (!token) return sendAdminError(reply, new DomainError('NotFound', 'the admin API is disabled: set ui.admin_token'));
    const given = req.headers['x-admin-token'];
    if (typeof given !== 'string' || !tokensMatch(given, token)) return sendAdminError(reply, new DomainError('Unauthorized', 'unauthorized'));
    return undefined;
  };
}
