import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { decodeEvent } from '../../domain/events/codec.js';
import { describeObjectEvent } from '../../domain/objects/object-history.js';
import { objectStreamId } from '../../domain/objects/object-state.js';
import { loadObject } from '../../projections/read/object-reads.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { parseInput } from './admin-input.js';

const ObjectQuery = z.object({
  bucket: z.string({ error: 'is required' }).min(1, 'must not be empty'),
  key: z.string({ error: 'is required' }).min(1, 'must not be empty'),
});
/** The original's form: `key` is the internal `<bucket>/<key>`. */
const InternalKeyQuery = z.object({
  key: z.string({ error: 'is required (as <bucket>/<key>)' }).regex(/^[^/]+\/.+/s, 'must be <bucket>/<key>'),
});

export interface ObjectLocationsJson {
  bucket: string;
  key: string;
  exists: boolean;
  stream_revision: number;
  version: { write_id: string; size: number; etag: string; content_type: string; last_modified: string } | null;
  copies: { backend: string; storage_key: string; size: number }[];
}

export interface HistoryEntryJson {
  revision: number;
  type: string;
  at: string;
  actor: string | null;
  correlation_id: string | null;
  summary: string;
  data: unknown;
}

export interface ObjectHistoryJson {
  bucket: string;
  key: string;
  stream_revision: number;
  /** True when the stream is longer than the events returned (the oldest are shown). */
  truncated: boolean;
  events: HistoryEntryJson[];
}

const maxHistoryEvents = 10_000;

export interface ObjectRouteDeps {
  /** The projections, read only (where an object's copies are). */
  reads: Queryable;
  /** The log, read only (an object's history). */
  log: Pick<EventStore, 'readStream'>;
}

/** `bucket` and `key`; with `internalKey` also the original's single `key=<bucket>/<key>`. */
function objectQuery(query: unknown, internalKey = false): { bucket: string; key: string } {
  const q = query as Record<string, unknown> | undefined;
  if (internalKey && q?.bucket === undefined) {
    const { key } = parseInput(InternalKeyQuery, query, 'query');
    const slash = key.indexOf('/');
    return { bucket: key.slice(0, slash), key: key.slice(slash + 1) };
  }
  return parseInput(ObjectQuery, query, 'query');
}

export async function readObjectLocations(deps: Pick<ObjectRouteDeps, 'reads'>, object: { bucket: string; key: string }): Promise<ObjectLocationsJson> {
  const { bucket, key } = object;
  const state = await loadObject(deps.reads, bucket, key);
  if (state.revision === 'no_stream') throw new DomainError('NotFound', `${bucket}/${key} has never been written`);
  const v = state.current;
  return {
    bucket, key, exists: v !== undefined, stream_revision: Number(state.revision),
    version: v ? { write_id: v.writeId, size: v.size, etag: v.etag, content_type: v.contentType, last_modified: v.lastModified } : null,
    copies: (v?.copies ?? []).map((c) => ({ backend: c.backend, storage_key: c.storageKey, size: c.size })),
  };
}

/** `GET objects/locations` (and the original's `object-locations?key=B/K`), `GET objects/history`. */
export function registerObjectRoutes(app: FastifyInstance, deps: ObjectRouteDeps): void {
  app.get('/objects/locations', async (req) => readObjectLocations(deps, objectQuery(req.query)));
  app.get('/object-locations', async (req) => readObjectLocations(deps, objectQuery(req.query, true)));

  /** The object's stream, oldest first: every version, copy, move and deletion, with who and why. */
  app.get('/objects/history', async (req): Promise<ObjectHistoryJson> => {
    const { bucket, key } = objectQuery(req.query);
    return readObjectHistory(deps.log, bucket, key);
  });
}

/** An object's history from its stream (the admin API's, the CLI's and the dashboard's timeline). */
export async function readObjectHistory(log: ObjectRouteDeps['log'], bucket: string, key: string): Promise<ObjectHistoryJson> {
  const read = await log.readStream(objectStreamId(bucket, key), { maxCount: maxHistoryEvents });
  if (read.revision === 'no_stream') throw new DomainError('NotFound', `${bucket}/${key} has never been written`);
  return {
    bucket, key, stream_revision: Number(read.revision), truncated: read.events.length < Number(read.revision) + 1,
    events: read.events.map((e) => {
      const decoded = decodeEvent(e.type, e.schemaVersion, e.data);
      return {
        revision: Number(e.revision), type: e.type, at: e.metadata.at ?? e.recordedAt,
        actor: e.metadata.actor ?? null, correlation_id: e.metadata.correlationId ?? null,
        summary: decoded ? describeObjectEvent(decoded) : e.type, data: decoded?.data ?? e.data,
      };
    }),
  };
}
