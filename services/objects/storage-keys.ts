import { DomainError } from '../../domain/errors.js';
import { utf8ByteLength } from '../../domain/s3/keys.js';

/** Backends limit keys to 1024 bytes; ours carry `<bucket>/`, `~<writeId>` and room for a placement suffix. */
const BACKEND_KEY_LIMIT = 1024;
const VERSION_SUFFIX_BYTES = 1 + 26;
const PLACEMENT_SUFFIX_BYTES = 1 + 26;

/**
 * Each written version gets its own backend object, `<bucket>/<key>~<writeId>`, so concurrent
 * writers and movers never share bytes and the newest version of a key can be found from
 * backend listings alone. Copies made later (replicas, moves) add `-<placementId>`, so a
 * (backend, storage key) pair is never reused and cleanup can never delete a live copy.
 */
export function versionStorageKey(bucket: string, key: string, writeId: string): string {
  return `${bucket}/${key}~${writeId}`;
}

export function placementStorageKey(bucket: string, key: string, writeId: string, placementId: string): string {
  return `${versionStorageKey(bucket, key, writeId)}-${placementId}`;
}

export function maxUserKeyBytes(bucket: string): number {
  return BACKEND_KEY_LIMIT - utf8ByteLength(bucket) - 1 - VERSION_SUFFIX_BYTES - PLACEMENT_SUFFIX_BYTES;
}

export function assertKeyFitsBackends(bucket: string, key: string): void {
  const max = maxUserKeyBytes(bucket);
  if (utf8ByteLength(key) > max) {
    throw new DomainError('KeyTooLongError', `Your key is too long: keys in bucket ${bucket} may be at most ${max} bytes (UTF-8).`);
  }
}

/** Parses `<bucket>/<key>~<writeId>[-<placementId>]` back into its parts (for reconcile and recovery). */
export function parseStorageKey(storageKey: string): { bucket: string; key: string; writeId: string; placementId?: string } | undefined {
  const m = /^([^/]+)\/(.*)~([0-9A-HJKMNP-TV-Z]{26})(?:-([0-9A-HJKMNP-TV-Z]{26}))?$/s.exec(storageKey);
  if (!m?.[1] || m[2] === undefined || !m[3]) return undefined;
  return m[4] ? { bucket: m[1], key: m[2], writeId: m[3], placementId: m[4] } : { bucket: m[1], key: m[2], writeId: m[3] };
}
