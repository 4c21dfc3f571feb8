import type { CredentialLookup, ProxyToken, SigV4Credential } from '../auth/index.js';
import type { BucketConfig } from '../../domain/config/config.js';

/**
 * The configured bucket credentials, swapped as a whole on reload so a request sees either the
 * old or the new set, never a mix. Token ids are positions (`<bucket>#<n>`), never the token.
 */
export class CredentialStore implements CredentialLookup {
  private sigv4 = new Map<string, SigV4Credential>();
  private tokenList: ProxyToken[] = [];
  private bucketNames: string[] = [];

  constructor(buckets: readonly BucketConfig[]) {
    this.replace(buckets);
  }

  replace(buckets: readonly BucketConfig[]): void {
    const sigv4 = new Map<string, SigV4Credential>();
    const tokens: ProxyToken[] = [];
    for (const b of buckets) {
      b.credentials.forEach((c, i) => {
        if (c.access_key_id && c.secret_access_key) sigv4.set(c.access_key_id, { secretAccessKey: c.secret_access_key, bucket: b.name });
        if (c.token) tokens.push({ token: c.token, bucket: b.name, tokenId: `${b.name}#${i}` });
      });
    }
    this.sigv4 = sigv4;
    this.tokenList = tokens;
    this.bucketNames = buckets.map((b) => b.name);
  }

  bySigV4(accessKeyId: string): SigV4Credential | undefined {
    return this.sigv4.get(accessKeyId);
  }

  tokens(): Iterable<ProxyToken> {
    return this.tokenList;
  }

  hasBucket(name: string): boolean {
    return this.bucketNames.includes(name);
  }
}
