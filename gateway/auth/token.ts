import { createHash, timingSafeEqual } from 'node:crypto';
import type { CredentialLookup, Principal } from './types.js';

/**
 * Legacy `X-Proxy-Token` check. The presented token is compared with every configured token,
 * without stopping at a match, and the comparison is on SHA-256 digests so neither the position
 * of the first differing byte nor the token lengths show in the timing.
 */
export function authenticateToken(presented: string, creds: CredentialLookup): Principal | undefined {
  const presentedDigest = createHash('sha256').update(presented).digest();
  let match: Principal | undefined;
  for (const t of creds.tokens()) {
    const digest = createHash('sha256').update(t.token).digest();
    if (timingSafeEqual(presentedDigest, digest) && match === undefined) {
      match = { accessKeyId: 'token:' + t.tokenId, bucket: t.bucket };
    }
  }
  return match;
}
