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
  copies: StoredCopy[];
  /** Backends whose copy was found corrupt and not repaired yet: read last, replaced by a repair. */
  corrupt?: readonly string[];
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

const withoutBackend = (corrupt: readonly string[] | undefined, backend: string): string[] =>
  (corrupt ?? []).filter((b) => b !== backend);

/** Folds one event of the object's stream into its state. */
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
          copies: d.copies,
        },
      };
    }
    case 'ObjectDeleted':
      return { ...state, revision, current: undefined };
    case 'ReplicaAdded':
      return state.current
        ? { ...state, revision, current: { ...state.current, copies: [...state.current.copies, event.data.copy] } }
        : { ...state, revision };
    case 'ReplicaDropped':
      return state.current
        ? { ...state, revision, current: { ...state.current, copies: state.current.copies.filter((c) => c.backend !== event.data.copy.backend) } }
        : { ...state, revision };
    case 'CopyMoved':
      return state.current
        ? {
            ...state,
            revision,
            current: {
              ...state.current,
              copies: [...state.current.copies.filter((c) => c.backend !== event.data.from.backend), event.data.to],
            },
          }
        : { ...state, revision };
    case 'CopyCorrupted':
      return state.current
        ? { ...state, revision, current: { ...state.current, corrupt: [...withoutBackend(state.current.corrupt, event.data.backend), event.data.backend] } }
        : { ...state, revision };
    case 'CopyVerified':
      return state.current
        ? { ...state, revision, current: { ...state.current, corrupt: withoutBackend(state.current.corrupt, event.data.backend) } }
        : { ...state, revision };
    case 'CopyRepaired':
      return state.current
        ? {
            ...state,
            revision,
            current: {
              ...state.current,
              copies: [...state.current.copies.filter((c) => c.backend !== event.data.from.backend), event.data.to],
              corrupt: withoutBackend(state.current.corrupt, event.data.from.backend),
            },
          }
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
