/**
 * Whether a backend object is stored encrypted, from its first bytes (the v2 segment header's
 * magic and version). For paths that meet backend objects without their events — the degraded
 * read fallback and `s3o sync` imports — so ciphertext is never taken for an object's bytes.
 */
import { startsLikeSegment } from '../../infra/crypto/index.js';
import type { BackendClient } from '../../infra/backend/index.js';

const MAGIC_BYTES = 5;

export async function storedEncrypted(client: BackendClient, storageKey: string, size: number): Promise<boolean> {
  if (size < MAGIC_BYTES) return false;
  const opened = await client.getObject(storageKey, { range: { start: 0, end: MAGIC_BYTES - 1 } });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return startsLikeSegment(Buffer.concat(chunks));
}
