import { DomainError } from '../../domain/errors.js';
import { validateObjectKey } from '../../domain/s3/keys.js';

/** Where an untracked backend object would go in the orchestrator's namespace. */
export interface Destination {
  bucket: string;
  key: string;
}

/**
 * Which untracked backend objects a scan may import, and where. Our own storage keys
 * (`<bucket>/<key>~<writeId>`) name their bucket and key; foreign keys are mapped here.
 */
export interface ImportScope {
  /** Whether our own keys of `bucket` are in scope. */
  ownBucket(bucket: string): boolean;
  /** The bucket and key a foreign backend key is imported as; undefined: out of scope. */
  foreign(storageKey: string): Destination | undefined;
}

function validKey(key: string): boolean {
  try {
    validateObjectKey(key);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

/**
 * `s3o sync --bucket K`: foreign keys are imported into K under their backend key as is (the
 * original prefixed `K/`, so a backend already laid out as `K/…` got `K/K/…`), except those under
 * another configured bucket's prefix (`<other>/…`: the reconciler imports them into that bucket);
 * our own keys only when they belong to K.
 */
export function syncScope(bucket: string, configured: readonly string[]): ImportScope {
  const others = new Set(configured.filter((b) => b !== bucket));
  return {
    ownBucket: (b) => b === bucket,
    foreign: (storageKey) => {
      const slash = storageKey.indexOf('/');
      if (slash > 0 && others.has(storageKey.slice(0, slash))) return undefined;
      return validKey(storageKey) ? { bucket, key: storageKey } : undefined;
    },
  };
}

/**
 * The reconciler: a foreign key `<bucket>/<rest>` of a configured bucket is imported into it as
 * `<rest>`; any other foreign key is skipped (the original put it into the first bucket).
 */
export function reconcileScope(buckets: readonly string[]): ImportScope {
  const configured = new Set(buckets);
  return {
    ownBucket: (b) => configured.has(b),
    foreign(storageKey) {
      const slash = storageKey.indexOf('/');
      if (slash <= 0) return undefined;
      const bucket = storageKey.slice(0, slash);
      const key = storageKey.slice(slash + 1);
      return configured.has(bucket) && validKey(key) ? { bucket, key } : undefined;
    },
  };
}

/** Temporaries of multipart implementations that stage parts as objects (the original's `__multipart/`). */
export function isMultipartTemporary(storageKey: string): boolean {
  return /^(?:[^/]+\/)?__multipart\//.test(storageKey);
}
