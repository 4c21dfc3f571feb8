import { z } from 'zod';
import { EncryptionEnvelope, EncryptionKeyFacts, KeyId } from '../encryption/envelope.js';
import { Checksum, ContentSha256, IsoTime, ObjectHeaders, OrphanedCopy, PartLayout, StoredCopy } from './common.js';

/** A new current version of an object; the previous version's copies are `displaced`. */
export const ObjectWritten = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  size: z.number().int().nonnegative(),
  /** Size of the version this one replaces, null for a new key. */
  previousSize: z.number().int().nonnegative().nullable(),
  etag: z.string(),
  contentType: z.string(),
  metadata: z.record(z.string(), z.string()),
  headers: ObjectHeaders,
  checksum: Checksum.nullable(),
  /** SHA-256 of the client's bytes (see ContentSha256); null when integrity was off. New in version 2. */
  contentSha256: ContentSha256.nullable(),
  parts: z.array(PartLayout).nullable(),
  lastModified: IsoTime,
  copies: z.array(StoredCopy).min(1),
  displaced: z.array(OrphanedCopy),
  origin: z.enum(['put', 'copy', 'multipart', 'import']),
  uploadId: z.string().optional(),
  /**
   * How the stored bytes are encrypted (format, chunk size, key fingerprint and alias, wrapped
   * data key, segments), null for plaintext. `size` and `etag` stay the client's; each copy's
   * `size` is the stored (ciphertext) bytes. New in version 3: a build that does not know it must
   * refuse the event rather than serve ciphertext as the object.
   */
  encryption: EncryptionEnvelope.nullable(),
});

export const ReplicaAdded = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  copy: StoredCopy,
  jobId: z.string().optional(),
});

export const ReplicaDropped = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  copy: OrphanedCopy,
  reason: z.enum(['over-replication', 'drain', 'unhealthy', 'corrupted', 'backend-removed']),
  /** False when the bytes are left where they are (backend removed): no cleanup item. */
  reclaim: z.boolean(),
  jobId: z.string().optional(),
});

export const CopyMoved = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  from: OrphanedCopy,
  to: StoredCopy,
  jobId: z.string(),
  moveId: z.string(),
});

export const ObjectDeleted = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  size: z.number().int().nonnegative(),
  reason: z.enum(['client', 'lifecycle', 'purge', 'backend-removed']),
  displaced: z.array(OrphanedCopy),
  /** False when the bytes are left on the backend (its records were removed): no cleanup. */
  reclaim: z.boolean(),
});

/**
 * An encryption job rewrote the stored bytes of the current version: every copy was replaced by
 * one holding the same client bytes encrypted (`encrypt`), in plaintext (`decrypt`), or the same
 * ciphertext chunks under segment headers holding the data key re-wrapped by the primary key
 * (`rewrap`, a key rotation: the data key and chunks stay, so the backend's bytes alone and the
 * new key recover the object), on the same backends under new storage keys. Size, ETag and
 * checksums stay the client's; the old copies become orphans for cleanup.
 * Version 2 adds `rewrap` and `previousKey` (a version 1 event was an encrypt or a decrypt).
 */
export const StoredBytesRewritten = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  change: z.enum(['encrypt', 'decrypt', 'rewrap']),
  copies: z.array(StoredCopy).min(1),
  displaced: z.array(OrphanedCopy).min(1),
  encryption: EncryptionEnvelope.nullable(),
  /** The key that wrapped the data key before a `rewrap`; null for encrypt and decrypt. */
  previousKey: z.object({ keyId: KeyId, keyAlias: z.string().min(1) }).nullable(),
  jobId: z.string(),
});

/**
 * A key rotation (of an earlier build) re-wrapped the version's data key with the primary master
 * key: only the key facts of its envelope changed, no stored byte did — the segment headers keep
 * the wrap of the time they were written. Rotation now records StoredBytesRewritten `rewrap`
 * (headers rewritten too); this event is only read back from older logs.
 */
export const DataKeyRewrapped = z.object({
  bucket: z.string(),
  key: z.string(),
  writeId: z.string(),
  previousKeyId: KeyId,
  previousKeyAlias: z.string().min(1),
  /** The new wrap (the envelope's `key`). */
  wrap: EncryptionKeyFacts,
  jobId: z.string(),
});

export const objectEvents = {
  ObjectWritten: { version: 3, schema: ObjectWritten },
  ReplicaAdded: { version: 1, schema: ReplicaAdded },
  ReplicaDropped: { version: 1, schema: ReplicaDropped },
  CopyMoved: { version: 1, schema: CopyMoved },
  ObjectDeleted: { version: 1, schema: ObjectDeleted },
  StoredBytesRewritten: { version: 2, schema: StoredBytesRewritten },
  DataKeyRewrapped: { version: 1, schema: DataKeyRewrapped },
} as const;
