import { createHmac } from 'node:crypto';

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', 'AWS4' + secretAccessKey).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

interface Entry {
  secret: string;
  key: Buffer;
}

/**
 * Signing keys per (access key, date, region, service). Deriving one costs four HMACs (~10 µs),
 * as much as the rest of a verification. The map is bounded (oldest entry evicted first).
 * An entry also remembers the secret it was derived from, so a key whose secret changed is
 * re-derived even if nobody called `clear()` after a credential reload.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 4096) {}

  get(accessKeyId: string, secretAccessKey: string, date: string, region: string, service: string): Buffer {
    // '/' cannot occur inside a credential-scope part, so the joined id is unambiguous.
    const id = accessKeyId + '/' + date + '/' + region + '/' + service;
    const hit = this.entries.get(id);
    if (hit !== undefined && hit.secret === secretAccessKey) return hit.key;
    const key = deriveSigningKey(secretAccessKey, date, region, service);
    if (hit !== undefined) {
      this.entries.delete(id);
    } else if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(id, { secret: secretAccessKey, key });
    return key;
  }

  /** Forget every key; call when credentials are reloaded. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
