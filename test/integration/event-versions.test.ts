import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventCatalog, upcasters } from '../../domain/events/catalog.js';
import { decodeEvent, encodeEvent } from '../../domain/events/codec.js';
import { UnknownEventVersionError } from '../../domain/eventstore/errors.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { encodePosition } from '../../infra/eventstore/positions.js';
import type { AsyncProjection } from '../../projections/async/projection.js';
import type { EventVersion, ProjectionDefinition } from '../../projections/projection.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { allProjections, asyncProjections, inlineProjections } from '../../projections/registry.js';
import { migrateSchema, type SchemaSources } from '../../projections/schema/plan.js';
import { sqlUpcasters } from '../../projections/schema/sql-upcasters.js';
import { currentEncoder, historyOp, HistoryWriter, projectionTables, resetLog, type EventEncoder } from '../support/projection-history.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/**
 * A test-only next version of ObjectWritten (`NEXT`, the real shape), whose version before it
 * (`OLD`, the catalogue's current one) is pretended to have named the previous size `previous` and
 * listed its copies as `replicas` without sizes (every copy had the object's). The variables keep
 * their first names: V1 is that older shape, V2 the next version.
 */
const OLD = eventCatalog.ObjectWritten.version;
const NEXT = OLD + 1;
const known = (upTo: number) => Array.from({ length: upTo }, (_, i) => i + 1).join(', ');
const upcastObjectWritten = (d: Record<string, unknown>) => {
  const { previous, replicas, ...rest } = d as { previous: unknown; replicas: Record<string, unknown>[] };
  return { ...rest, previousSize: previous, copies: replicas.map((r) => ({ ...r, size: d.size })) };
};
const upcastObjectWrittenSql = `(d - 'previous' - 'replicas') || jsonb_build_object('previousSize', d->'previous', 'copies',
  (SELECT coalesce(jsonb_agg(r || jsonb_build_object('size', d->'size') ORDER BY i), '[]'::jsonb)
     FROM jsonb_array_elements(d->'replicas') WITH ORDINALITY AS x(r, i)))`;
const toV2 = (v: EventVersion): EventVersion => (v === `ObjectWritten@${OLD}` ? `ObjectWritten@${NEXT}` : v);
const declaredAtV2 = <P extends ProjectionDefinition & { bulk?: readonly EventVersion[] }>(p: P): P =>
  ({ ...p, handles: p.handles.map(toV2), ignores: p.ignores.map(toV2), ...(p.bulk ? { bulk: p.bulk.map(toV2) } : {}) });
const withV2: SchemaSources = {
  catalogue: {
    versions: { ...eventCatalog, ObjectWritten: { ...eventCatalog.ObjectWritten, version: NEXT } },
    upcasters: { ...upcasters, [`ObjectWritten@${OLD}`]: upcastObjectWritten },
    sqlUpcasters: { ...sqlUpcasters, [`ObjectWritten@${OLD}`]: upcastObjectWrittenSql },
  },
  inline: inlineProjections.map(declaredAtV2),
  async: asyncProjections.map(declaredAtV2),
};

/** Stores ObjectWritten as version OLD (the old shape); everything else as it is. */
const storeV1: EventEncoder = (type, data, at) => {
  if (type !== 'ObjectWritten') return currentEncoder(type, data, at);
  const { previousSize, copies, ...rest } = encodeEvent('ObjectWritten', data as Parameters<typeof encodeEvent<'ObjectWritten'>>[1]).data;
  const v1 = { ...rest, previous: previousSize, replicas: copies.map(({ backend, storageKey }) => ({ backend, storageKey })) };
  return { id: randomUUID(), type, schemaVersion: OLD, data: v1, metadata: { actor: 'history', at } };
};
/** Stores ObjectWritten as version NEXT: the current shape under the new number. */
const storeV2: EventEncoder = (type, data, at) => ({ ...currentEncoder(type, data, at), ...(type === 'ObjectWritten' ? { schemaVersion: NEXT } : {}) });

/** What `p` rejects with; fails when it resolves. */
const rejectionOf = (p: Promise<unknown>): Promise<Error> =>
  p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as Error);

const bucketStats = asyncProjections.find((p) => p.name === 'bucket_stats') as AsyncProjection;

describe('event versions', () => {
  let current: MigratedDatabase;
  let asV1: MigratedDatabase;
  let asV2: MigratedDatabase;
  beforeAll(async () => {
    [current, asV1, asV2] = await Promise.all([createMigratedDatabase(4), createMigratedDatabase(4), createMigratedDatabase(4)]);
    await migrateSchema(asV1.pool, undefined, withV2);
    await migrateSchema(asV2.pool, undefined, withV2);
  });
  afterAll(async () => Promise.all([current.close(), asV1.close(), asV2.close()]));

  it('an append carrying a version the projections do not know is refused, loudly, and stores nothing', async () => {
    const store = new PostgresEventStore(current.pool);
    const flush = encodeEvent('UsageFlushed', { backend: 'b1', period: '2026-11', apiRequests: 1, egressBytes: 0, ingressBytes: 0 });
    for (const schemaVersion of [2, 0]) {
      const event = { id: randomUUID(), type: flush.type, schemaVersion, data: flush.data, metadata: { actor: 'test', at: '2026-11-01T00:00:00Z' } };
      const err = await rejectionOf(store.appendToStream('usage-b1', [event], { expected: 'any' }));
      expect(err).toBeInstanceOf(UnknownEventVersionError);
      expect(err.message).toBe(`event UsageFlushed has schema version ${schemaVersion}, which the projections in this database do not know (they know 1)`);
    }
    const newer = { ...storeV2('ObjectWritten', { ...objectWritten, key: 'v3' }, '2026-11-01T00:00:00Z'), schemaVersion: NEXT + 1 };
    const refused = await rejectionOf(new PostgresEventStore(asV1.pool).appendToStream('object-data/v3', [newer], { expected: 'no_stream' }));
    expect(refused.message).toBe(`event ObjectWritten has schema version ${NEXT + 1}, which the projections in this database do not know (they know ${known(NEXT)})`);
    expect((await current.pool.query('SELECT count(*)::int AS n FROM events')).rows[0]).toEqual({ n: 0 });
    expect((await asV1.pool.query("SELECT count(*)::int AS n FROM objects WHERE key = 'v3'")).rows[0]).toEqual({ n: 0 });
  });

  it('a history stored with ObjectWritten at an older version projects, replays and upcasts to the tables of the same history at the next', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(historyOp, { minLength: 5, maxLength: 40 }), async (ops) => {
        await Promise.all([resetLog(asV1.pool), resetLog(asV2.pool)]);
        for (const [db, encode] of [[asV1, storeV1], [asV2, storeV2]] as const) {
          const writer = new HistoryWriter(new PostgresEventStore(db.pool), encode);
          await writer.begin();
          await writer.run(ops);
        }
        // The async projection, one set-based page over the whole log, sees version 1 through the SQL upcaster.
        for (const db of [asV1, asV2]) {
          const head = (await db.pool.query<{ tx_id: string; seq: string }>('SELECT tx_id, seq FROM events ORDER BY tx_id DESC, seq DESC LIMIT 1')).rows[0];
          if (head) await bucketStats.applyPage(db.pool, { after: undefined, last: encodePosition(head.tx_id, head.seq) });
        }
        const live = await projectionTables(asV2.pool);
        expect(await projectionTables(asV1.pool)).toEqual(live);
        const replayed = await verifyProjections(asV1.pool, allProjections.filter((p) => p.kind === 'inline'));
        expect(replayed.every((r) => r.identical)).toBe(true);
        // Each stored older version upcasts in SQL to what the TypeScript upcaster makes of it.
        const stored = (await asV1.pool.query<{ data: Record<string, unknown>; upcast: unknown }>(
          "SELECT data, s3o_upcast(type, schema_version, data) AS upcast FROM events WHERE type = 'ObjectWritten'",
        )).rows;
        for (const e of stored) expect(e.upcast).toEqual(upcastObjectWritten(e.data));
      }),
      { numRuns: 8 },
    );
  });

  it('ObjectWritten@1 and PartUploaded@1, stored before SHA-256s were recorded, upcast alike in SQL and TypeScript and project with no hash', async () => {
    const store = new PostgresEventStore(current.pool);
    const { contentSha256: _hash, ...writtenV1 } = { ...objectWritten, key: 'old' };
    const partV1 = { uploadId: 'u-old', backend: 'b1', partNumber: 1, size: 1, etag: 'e', backendEtag: 'be', checksum: null };
    const stored = (type: string, data: unknown) => ({ id: randomUUID(), type, schemaVersion: 1, data, metadata: { actor: 'test', at: '2026-11-01T00:00:00Z' } });
    await store.appendToStream('object-data/old', [stored('ObjectWritten', writtenV1)], { expected: 'no_stream' });
    const created = {
      uploadId: 'u-old', bucket: 'data', key: 'mp', backend: 'b1', backendUploadId: 'bu', storageKey: 'data/mp~w2', writeId: 'w2',
      contentType: 'text/plain', metadata: {}, headers: {}, initiatedAt: '2026-11-01T00:00:00Z',
    };
    await store.appendToStream('upload-u-old', [stored('MultipartUploadCreated', created), stored('PartUploaded', partV1)], { expected: 'no_stream' });
    const rows = (await current.pool.query<{ type: string; data: Record<string, unknown>; upcast: unknown }>(
      "SELECT type, data, s3o_upcast(type, schema_version, data) AS upcast FROM events WHERE schema_version = 1 AND type IN ('ObjectWritten', 'PartUploaded')",
    )).rows;
    expect(rows.map((r) => r.type).sort()).toEqual(['ObjectWritten', 'PartUploaded']);
    for (const r of rows) {
      // Lifted step by step to the current version, as the SQL does (PartUploaded@1 is two steps behind).
      const ts = decodeEvent(r.type, 1, r.data)?.data;
      expect(r.upcast).toEqual(ts);
      expect(ts).toMatchObject(r.type === 'ObjectWritten' ? { contentSha256: null } : { sha256: null });
    }
    expect((await current.pool.query("SELECT content_sha256 FROM objects WHERE key = 'old'")).rows).toEqual([{ content_sha256: null }]);
  });

  it('MultipartUploadCreated@1 and PartUploaded@2, stored before uploads were encrypted, upcast alike in SQL and TypeScript: plaintext, stored as sent', async () => {
    const store = new PostgresEventStore(current.pool);
    const stored = (type: string, schemaVersion: number, data: unknown) => ({ id: randomUUID(), type, schemaVersion, data, metadata: { actor: 'test', at: '2026-11-01T00:00:00Z' } });
    const created = {
      uploadId: 'u-plain', bucket: 'data', key: 'mp2', backend: 'b1', backendUploadId: 'bu', storageKey: 'data/mp2~w3', writeId: 'w3',
      contentType: 'text/plain', metadata: {}, headers: {}, initiatedAt: '2026-11-01T00:00:00Z',
    };
    const partV2 = { uploadId: 'u-plain', backend: 'b1', partNumber: 1, size: 4321, etag: 'e', backendEtag: 'be', checksum: null, sha256: null };
    const pendingBefore = await pendingOf('b1');
    await store.appendToStream('upload-u-plain', [stored('MultipartUploadCreated', 1, created), stored('PartUploaded', 2, partV2)], { expected: 'no_stream' });
    const rows = (await current.pool.query<{ type: string; schema_version: number; data: Record<string, unknown>; upcast: unknown }>(
      "SELECT type, schema_version, data, s3o_upcast(type, schema_version, data) AS upcast FROM events WHERE stream_id = 'upload-u-plain' ORDER BY revision",
    )).rows;
    expect(rows.map((r) => `${r.type}@${r.schema_version}`)).toEqual(['MultipartUploadCreated@1', 'PartUploaded@2']);
    for (const r of rows) expect(r.upcast).toEqual(upcasters[`${r.type}@${r.schema_version}`]?.(r.data));
    expect(rows[0]?.upcast).toMatchObject({ encryption: null });
    expect(rows[1]?.upcast).toMatchObject({ size: 4321, storedSize: 4321, salt: null });
    // The part counts as pending bytes as it was stored.
    expect(await pendingOf('b1')).toBe(pendingBefore + 4321);
  });

  it('CopyCorrupted@1 upcasts alike in SQL and TypeScript: a null actual hash was bytes it could not read, any other a checksum mismatch', async () => {
    const ref = { bucket: 'data', key: 'bad', writeId: 'w', backend: 'b1', storageKey: 'data/bad~w', component: 'scrub', expectedSha256: 'a'.repeat(64) };
    const reasons = [];
    for (const data of [{ ...ref, actualSha256: null }, { ...ref, actualSha256: 'b'.repeat(64) }]) {
      const sql = (await current.pool.query<{ upcast: { reason: string } }>("SELECT s3o_upcast('CopyCorrupted', 1, $1::jsonb) AS upcast", [JSON.stringify(data)])).rows[0]?.upcast;
      expect(sql).toEqual(upcasters['CopyCorrupted@1']?.(data));
      reasons.push(sql?.reason);
    }
    expect(reasons).toEqual(['missing', 'checksum-mismatch']);
  });

  it('StoredBytesRewritten@1 upcasts alike in SQL and TypeScript: an encrypt or decrypt with no previous key, read as version 2', async () => {
    const copy = { backend: 'b1', storageKey: 'data/r~w-R', size: 10 };
    const data = { bucket: 'data', key: 'r', writeId: 'w', change: 'decrypt', copies: [copy], displaced: [{ ...copy, cleanupId: 'c' }], encryption: null, jobId: 'J' };
    const sql = (await current.pool.query<{ upcast: unknown }>("SELECT s3o_upcast('StoredBytesRewritten', 1, $1::jsonb) AS upcast", [JSON.stringify(data)])).rows[0]?.upcast;
    expect(sql).toEqual(upcasters['StoredBytesRewritten@1']?.(data));
    expect(decodeEvent('StoredBytesRewritten', 1, data)).toEqual({ type: 'StoredBytesRewritten', data: { ...data, previousKey: null } });
  });

  const pendingOf = async (backend: string): Promise<number> =>
    Number((await current.pool.query<{ pending: string }>('SELECT pending_bytes AS pending FROM backend_usage WHERE backend = $1', [backend])).rows[0]?.pending ?? 0);

  it('a replay refuses a version nobody knows that reached the log, leaving the live tables alone', async () => {
    const db = asV2;
    const before = await projectionTables(db.pool);
    await db.pool.query(
      `INSERT INTO events (stream_id, revision, event_id, type, schema_version, data, metadata)
       VALUES ('object-data/future', 0, $1, 'ObjectWritten', $3, $2, '{"at": "2026-12-01T00:00:00Z"}')`,
      [randomUUID(), JSON.stringify({ ...objectWritten, key: 'future' }), NEXT + 1],
    );
    await expect(rebuildProjections(db.pool, allProjections.filter((p) => p.name === 'locations'))).rejects.toThrow(
      new RegExp(`event ObjectWritten has schema version ${NEXT + 1}, which the projections in this database do not know \\(they know ${known(NEXT)}\\)`),
    );
    expect(await projectionTables(db.pool)).toEqual(before);
  });
});

const objectWritten = {
  bucket: 'data', key: 'k', writeId: 'w', size: 1, previousSize: null, etag: 'e', contentType: 'text/plain', metadata: {}, headers: {},
  checksum: null, contentSha256: null, parts: null, lastModified: '2026-11-01T00:00:00.000Z', copies: [{ backend: 'b1', storageKey: 'data/k~w', size: 1 }],
  displaced: [], origin: 'put' as const, encryption: null,
};
