import type { z } from 'zod';
import { adminEvents } from './admin-events.js';
import { backendEvents } from './backend-events.js';
import { cleanupEvents } from './cleanup-events.js';
import { integrityEvents } from './integrity-events.js';
import { jobEvents } from './job-events.js';
import { objectEvents } from './object-events.js';
import { uploadEvents } from './upload-events.js';
import { usageEvents } from './usage-events.js';

/**
 * Every event type with its current schema version. An older stored version is upcast on
 * read by the functions in `upcasters` (keyed `<type>@<version>`), never rewritten in place.
 */
export const eventCatalog = {
  ...objectEvents,
  ...backendEvents,
  ...cleanupEvents,
  ...usageEvents,
  ...uploadEvents,
  ...jobEvents,
  ...integrityEvents,
  ...adminEvents,
} as const;

export type EventType = keyof typeof eventCatalog;
export type EventData<T extends EventType> = z.infer<(typeof eventCatalog)[T]['schema']>;

export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

/**
 * Upcasters lift one stored version to the next: `<type>@<from version>` → data at from+1. The
 * projections that run in the database need each one's SQL twin (projections/schema/sql-upcasters.ts).
 */
export const upcasters: Record<string, (data: Record<string, unknown>) => Record<string, unknown>> = {
  /** Version 2 records the SHA-256 of the client's bytes; a version 1 write has none. */
  'ObjectWritten@1': (d) => ({ ...d, contentSha256: null }),
  'PartUploaded@1': (d) => ({ ...d, sha256: null }),
  /** Version 3 records the encryption envelope; a version 2 write is plaintext. */
  'ObjectWritten@2': (d) => ({ ...d, encryption: null }),
  /** Version 2 records an upload's encryption (data key and layout); a version 1 upload is plaintext. */
  'MultipartUploadCreated@1': (d) => ({ ...d, encryption: null }),
  /** Version 3 records a part's stored size and segment salt; a version 2 part is plaintext, stored as sent. */
  'PartUploaded@2': (d) => ({ ...d, storedSize: d['size'], salt: null }),
  /** Version 2 says why a copy is bad; version 1 knew a hash mismatch, or bytes it could not read (null actual hash). */
  'CopyCorrupted@1': (d) => ({ ...d, reason: d['actualSha256'] === null ? 'missing' : 'checksum-mismatch' }),
  /** Version 2 adds the rotation's header rewrite (`rewrap`, with the previous key); a version 1 rewrite was an encrypt or a decrypt. */
  'StoredBytesRewritten@1': (d) => ({ ...d, previousKey: null }),
};

export function isKnownEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalog, type);
}
