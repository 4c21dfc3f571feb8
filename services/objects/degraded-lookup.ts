import { storedEncrypted } from '../encryption/stored-format.js';
import { DomainError } from '../../domain/errors.js';
import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { DEFAULT_CONTENT_TYPE } from '../../domain/s3/metadata.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import { legacyVersionKeyPrefix, versionKeyPrefix, writeIdUnder } from '../../domain/objects/storage-keys.js';

interface Found {
  backend: string;
  storageKey: string;
  writeId: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/**
 * Finds the newest version of a key from the backends alone, for reads while the database is
 * unreachable: every version has its own storage key `<bucket>/<encoded key>~<writeId>`, and write ids
 * are time-ordered, so the largest one listed is the newest written. (It may be a version whose
 * commit failed just before the outage; without the log that cannot be told apart.)
 */
export class DegradedLookup {
  constructor(
    private readonly backends: BackendDirectory,
    private readonly logger: Logger,
  ) {}

  async find(bucket: string, key: string): Promise<ObjectVersion | undefined> {
    // Versions written before keys were encoded sit under the key as sent, when that differs.
    const prefixes = [versionKeyPrefix(bucket, key), legacyVersionKeyPrefix(bucket, key)].filter((p) => p !== undefined);
    const found: Found[] = [];
    let unreachable = 0;
    for (const name of this.backends.names()) {
      const b = this.backends.require(name);
      if (!b.breaker.isAvailable()) {
        unreachable++;
        continue;
      }
      try {
        for (const prefix of prefixes) {
          for await (const o of b.client.listObjects(prefix)) {
            const writeId = writeIdUnder(prefix, o.key);
            if (writeId) found.push({ backend: name, storageKey: o.key, writeId, size: o.size, etag: o.etag, lastModified: o.lastModified });
          }
        }
      } catch (err) {
        unreachable++;
        this.logger.warn({ err, backend: name }, 'degraded read: backend listing failed');
      }
    }
    if (found.length === 0) {
      if (unreachable > 0) throw new DomainError('ServiceUnavailable', 'The metadata store and some backends are unavailable; please retry.');
      return undefined;
    }
    const newest = found.reduce((a, b) => (b.writeId > a.writeId ? b : a));
    const copies: StoredCopy[] = found.filter((f) => f.writeId === newest.writeId).map((f) => ({ backend: f.backend, storageKey: f.storageKey, size: f.size }));
    const client = this.backends.require(newest.backend).client;
    // An encrypted object's envelope is in the log only: without it the bytes cannot be served.
    if (await storedEncrypted(client, newest.storageKey, newest.size).catch(() => false)) {
      throw new DomainError('ServiceUnavailable', 'The metadata store is unavailable and this object is encrypted; please retry.');
    }
    const head = await client.headObject(newest.storageKey).catch(() => undefined);
    return {
      writeId: newest.writeId, size: newest.size, etag: newest.etag.replace(/"/g, ''), contentType: head?.contentType ?? DEFAULT_CONTENT_TYPE,
      metadata: {}, headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: newest.lastModified.toISOString(), copies,
      encryption: null,
    };
  }
}
