import type { EncryptionEnvelope } from '../encryption/envelope.js';
import { storedSize } from '../encryption/layout.js';
import type { Checksum, ObjectHeaders, PartLayout, StoredCopy } from '../events/common.js';
import type { DomainEvent } from '../events/catalog.js';

/** The current version of an object as its stream defines it. */
export interface ObjectVersion {
  writeId: string;
  size: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  checksum: Checksum | null;
  /** SHA-256 of the client's bytes (hex; `<hex>-N` for N parts, see ContentSha256); null when not recorded. */
  contentSha256: string | null;
  parts: PartLayout[] | null;
  lastModified: string;
  /** Each copy's `size` is its stored bytes: the ciphertext's when `encryption` is set. */
  copies: StoredCopy[];
  /** How the stored bytes are encrypted; null for plaintext. */
  encryption: EncryptionEnvelope | null;
  /** Backends whose copy was found corrupt and not repaired yet: read last, replaced by a repair. */
  corrupt?: readonly string[];
}

/** Bytes each copy of the version holds on its backend: the ciphertext's size when encrypted. */
export function storedSizeOf(version: Pick<ObjectVersion, 'size' | 'encryption'>): number {
  return version.encryption ? storedSize(version.encryption) : version.size;
}

export interface ObjectState {
  bucket: string;
  key: string;
  /** Revision of the object's stream, the compare-and-swap token of every change. */
  revision: bigint | 'no_stream';
  current: ObjectVersion | undefined;
}

export const objectStreamId = (bucket: string, key: string): string => `object-${bucket}/${key}`;

export function initialObjectState(bucket: string, key: string): ObjectState {
  return { bucket, key, revision: 'no_stream', current: undefined };
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A version's copies in one canonical order, by backend name (a version holds at most one copy
 * per backend): the fold and the inline projection's row agree on it whatever the times the
 * copies were added at. Readers order copies by health and configuration, never by this.
 */
export function canonicalCopies(copies: readonly StoredCopy[]): StoredCopy[] {
  return copies.map((c) => ({ backend: c.backend, storageKey: c.storageKey, size: c.size })).sort((a, b) => byName(a.backend, b.backend));
}

/** The corrupt backends in the same order, absent when none (as the row has it). */
function corruptList(corrupt: readonly string[]): Pick<ObjectVersion, 'corrupt'> {
  return corrupt.length > 0 ? { corrupt: [...corrupt].sort(byName) } : {};
}

const withoutBackend = (corrupt: readonly string[] | undefined, backend: string): string[] =>
  (corrupt ?? []).filter((b) => b !== backend);

/** The version with `copies`; a backend that holds no copy any more is no longer corrupt either. */
function withCopies(version: ObjectVersion, copies: readonly StoredCopy[]): ObjectVersion {
  const { corrupt, ...rest } = version;
  const held = new Set(copies.map((c) => c.backend));
  return { ...rest, copies: canonicalCopies(copies), ...corruptList((corrupt ?? []).filter((b) => held.has(b))) };
}

const holdsCopy = (version: ObjectVersion, copy: { backend: string; storageKey: string }): boolean =>
  version.copies.some((c) => c.backend === copy.backend && c.storageKey === copy.storageKey);

function withCorrupt(version: ObjectVersion, corrupt: readonly string[]): ObjectVersion {
  const { corrupt: _old, ...rest } = version;
  return { ...rest, ...corruptList(corrupt) };
}

/**
 * Folds one event of the object's stream into its state. The inline projection (`objects`,
 * `object_copies`) is this fold kept in SQL, so the row read at a stream revision is the state
 * folded up to it (test/integration/object-fold.property.test.ts checks that on random histories).
 */
export function evolveObject(state: ObjectState, event: DomainEvent): ObjectState {
  const revision = state.revision === 'no_stream' ? 0n : state.revision + 1n;
  switch (event.type) {
    case 'ObjectWritten': {
      const d = event.data;
      return {
        ...state,
        revision,
        current: {
          writeId: d.writeId, size: d.size, etag: d.etag, contentType: d.contentType, metadata: d.metadata,
          headers: d.headers, checksum: d.checksum, contentSha256: d.contentSha256, parts: d.parts, lastModified: d.lastModified,
          copies: canonicalCopies(d.copies), encryption: d.encryption,
        },
      };
    }
    case 'ObjectDeleted':
      return { ...state, revision, current: undefined };
    case 'ReplicaAdded':
      return state.current
        ? { ...state, revision, current: withCopies(state.current, [...state.current.copies, event.data.copy]) }
        : { ...state, revision };
    case 'ReplicaDropped':
      return state.current
        ? { ...state, revision, current: withCopies(state.current, state.current.copies.filter((c) => c.backend !== event.data.copy.backend)) }
        : { ...state, revision };
    case 'CopyMoved':
      return state.current
        ? {
            ...state,
            revision,
            current: withCopies(state.current, [...state.current.copies.filter((c) => c.backend !== event.data.from.backend), event.data.to]),
          }
        : { ...state, revision };
    case 'CopyCorrupted':
      // Marks the copy named (backend and storage key) only, as the row does.
      return state.current && holdsCopy(state.current, event.data)
        ? { ...state, revision, current: withCorrupt(state.current, [...withoutBackend(state.current.corrupt, event.data.backend), event.data.backend]) }
        : { ...state, revision };
    case 'CopyVerified':
      return state.current && holdsCopy(state.current, event.data)
        ? { ...state, revision, current: withCorrupt(state.current, withoutBackend(state.current.corrupt, event.data.backend)) }
        : { ...state, revision };
    case 'CopyRepaired': {
      if (!state.current) return { ...state, revision };
      // The repaired copy replaces the corrupt one, also when it lands on the same backend: that backend is healthy again, as the row has it.
      const repaired = withCopies(state.current, [...state.current.copies.filter((c) => c.backend !== event.data.from.backend), event.data.to]);
      return { ...state, revision, current: withCorrupt(repaired, withoutBackend(repaired.corrupt, event.data.from.backend)) };
    }
    case 'StoredBytesRewritten': {
      if (!state.current) return { ...state, revision };
      // Every copy is new bytes: none of them is known corrupt, as the row's new copies are not.
      const { corrupt: _old, ...rest } = state.current;
      return { ...state, revision, current: { ...rest, copies: canonicalCopies(event.data.copies), encryption: event.data.encryption } };
    }
    case 'DataKeyRewrapped':
      return state.current?.encryption
        ? { ...state, revision, current: { ...state.current, encryption: { ...state.current.encryption, key: event.data.wrap } } }
        : { ...state, revision };
    case 'ChecksumBackfilled': {
      const d = event.data;
      if (!state.current) return { ...state, revision };
      const parts = state.current.parts && d.parts
        ? state.current.parts.map((p) => {
            const sha256 = d.parts?.find((b) => b.partNumber === p.partNumber)?.sha256;
            return sha256 === undefined ? p : { ...p, sha256 };
          })
        : state.current.parts;
      return { ...state, revision, current: { ...state.current, contentSha256: d.contentSha256, parts } };
    }
    default:
      return { ...state, revision };
  }
}
