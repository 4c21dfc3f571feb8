import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Scripts and styles come from the dashboard's own files only (no inline script or style, no
 * eval), nothing may frame it, forms post only to it, and nothing it shows is cached or leaks
 * its address to other sites.
 */
export const contentSecurityPolicy = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
].join('; ');

export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': contentSecurityPolicy,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Every dashboard answer (pages, JSON, files, errors) carries the headers; pages and data are never stored. */
export async function addSecurityHeaders(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.headers(securityHeaders);
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
}

/**
 * A state-changing request made by another site's page: browsers say so in Sec-Fetch-Site (a
 * reverse proxy may rewrite Host, so Origin is not compared with it). The CSRF token is the real
 * check; this refuses cross-site posts early, the login form included.
 */
export function crossSiteRequest(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}
