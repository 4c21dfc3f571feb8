import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvariantViolationError } from '../../domain/eventstore/errors.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { findProjections } from '../../projections/registry.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

describe('inline projections', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let objects: ObjectWriter;
  const usage = async (backend: string) =>
    (await db.pool.query('SELECT bytes_used::int AS used, object_count::int AS count, orphan_bytes::int AS orphan, pending_bytes::int AS pending, quota_bytes::int AS quota FROM backend_usage WHERE backend = $1', [backend])).rows[0];

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    objects = new ObjectWriter(store);
    await registerBackend(store, 'b1', 1000);
    await registerBackend(store, 'b2', 1000);
  });
  afterAll(async () => db.close());

  it('a write is visible in objects and object_copies in the same transaction', async () => {
    await objects.write('photos', 'a.jpg', 100, ['b1']);
    const row = (await db.pool.query('SELECT size::int, stream_revision::int FROM objects WHERE bucket = $1 AND key = $2', ['photos', 'a.jpg'])).rows[0];
    expect(row).toEqual({ size: 100, stream_revision: 0 });
    const copies = (await db.pool.query('SELECT backend, size::int FROM object_copies WHERE bucket = $1 AND key = $2', ['photos', 'a.jpg'])).rows;
    expect(copies).toEqual([{ backend: 'b1', size: 100 }]);
    expect(await usage('b1')).toMatchObject({ used: 100, count: 1, orphan: 0 });
  });

  it('an overwrite moves the old copy to the cleanup queue and its bytes to orphan', async () => {
    await objects.write('photos', 'b.jpg', 50, ['b2']);
    await objects.write('photos', 'b.jpg', 70, ['b1']);
    expect(await usage('b2')).toMatchObject({ used: 0, count: 0, orphan: 50 });
    const queue = (await db.pool.query("SELECT backend, size::int, reason FROM cleanup_queue WHERE reason = 'overwrite_displaced'")).rows;
    expect(queue).toEqual([{ backend: 'b2', size: 50, reason: 'overwrite_displaced' }]);
  });

  it('a cleanup success releases the orphan bytes and the queue item', async () => {
    const item = (await db.pool.query<{ id: string; backend: string; size: string }>("SELECT id, backend, size FROM cleanup_queue WHERE reason = 'overwrite_displaced'")).rows[0]!;
    await store.appendToStream(`cleanup-${item.id}`, [newEvent('CleanupSucceeded', { attempt: 1, backend: item.backend, size: Number(item.size) })], { expected: 'any' });
    expect(await usage('b2')).toMatchObject({ orphan: 0 });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM cleanup_queue WHERE id = $1', [item.id])).rows[0]).toEqual({ n: 0 });
  });

  it('a write that would exceed the quota is rolled back: no event, no row', async () => {
    const before = await usage('b1');
    const err = await objects.write('photos', 'huge.bin', 2000, ['b1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvariantViolationError);
    expect((err as InvariantViolationError).detail).toMatchObject({ backend: 'b1', quotaBytes: 1000 });
    expect(await usage('b1')).toEqual(before);
    expect((await store.readStream('object-photos/huge.bin')).revision).toBe('no_stream');
  });

  it('concurrent writes can never overfill a backend', async () => {
    await registerBackend(store, 'tiny', 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => objects.write('race', `k${i}`, 100, ['tiny'])),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(await usage('tiny')).toMatchObject({ used: 1000, count: 10 });
  });

  it('multipart parts count as pending bytes, replaced parts are not double counted', async () => {
    const up = (n: number, size: number) =>
      store.appendToStream('upload-u1', [newEvent('PartUploaded', { uploadId: 'u1', backend: 'b2', partNumber: n, size, etag: 'e', backendEtag: 'be', checksum: null, sha256: null, storedSize: size, salt: null })], { expected: 'any' });
    await store.appendToStream('upload-u1', [newEvent('MultipartUploadCreated', {
      uploadId: 'u1', bucket: 'photos', key: 'big', backend: 'b2', backendUploadId: 'x', storageKey: 'photos/big~1', writeId: '1',
      contentType: 'application/octet-stream', metadata: {}, headers: {}, initiatedAt: new Date().toISOString(), encryption: null,
    })], { expected: 'no_stream' });
    await up(1, 300);
    await up(2, 200);
    await up(1, 250);
    expect(await usage('b2')).toMatchObject({ pending: 450 });
    const over = await up(3, 600).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(InvariantViolationError);
    await store.appendToStream('upload-u1', [newEvent('MultipartUploadAborted', { uploadId: 'u1', backend: 'b2', reason: 'client' })], { expected: 'any' });
    expect(await usage('b2')).toMatchObject({ pending: 0 });
  });

  it('a move reserves its size on its target until it settles; a reservation that would overfill is refused', async () => {
    const ref = (jobId: string, n: number) => ({ jobId, moveId: `${jobId}-m${n}`, bucket: 'photos', key: `m${n}`, writeId: 'w' });
    const start = (jobId: string, n: number, backend: string, size: number) =>
      store.appendToStream(`job-${jobId}`, [newEvent('MoveStarted', { ...ref(jobId, n), from: 'b9', to: { backend, storageKey: `k${n}`, size } })], { expected: 'any' });
    const before = (await usage('b2')).pending as number;
    await start('j1', 1, 'b2', 100);
    await start('j1', 2, 'b2', 50);
    expect((await usage('b2')).pending).toBe(before + 150);
    // Restarted onto another backend: the first reservation moves with it.
    await start('j1', 2, 'b1', 50);
    expect((await usage('b2')).pending).toBe(before + 100);
    const over = await start('j1', 3, 'b2', 1000).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(InvariantViolationError);
    await store.appendToStream('job-j1', [newEvent('MoveSkipped', { ...ref('j1', 1), reason: 'test' })], { expected: 'any' });
    expect((await usage('b2')).pending).toBe(before);
    const b1 = (await usage('b1')).pending as number;
    await store.appendToStream('job-j1', [newEvent('JobCancelled', { jobId: 'j1' })], { expected: 'any' });
    expect((await usage('b1')).pending).toBe(b1 - 50);
    // One left in flight, for the rebuild below to reproduce.
    await start('j2', 1, 'b1', 10);
    expect((await db.pool.query('SELECT move_id, backend, size::int FROM usage_move_reservations')).rows).toEqual([{ move_id: 'j2-m1', backend: 'b1', size: 10 }]);
  });

  it('a delete removes the object and queues its copies for cleanup', async () => {
    await objects.delete('photos', 'a.jpg');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM objects WHERE key = $1', ['a.jpg'])).rows[0]).toEqual({ n: 0 });
    expect(await usage('b1')).toMatchObject({ orphan: 100 });
  });

  it('rebuild reproduces the live tables exactly, and verify says so', async () => {
    const before = (await db.pool.query('SELECT * FROM backend_usage ORDER BY backend')).rows;
    // What a table is besides its rows: logged, its storage parameters, its indexes (names included).
    const tables = findProjections(undefined).flatMap((p) => p.tables);
    const shape = async () => (await db.pool.query<{ name: string; persistence: string; options: string[] | null; indexes: string[] }>(
      `SELECT c.relname AS name, c.relpersistence AS persistence, c.reloptions AS options,
              (SELECT array_agg(i.indexdef ORDER BY i.indexname) FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = c.relname) AS indexes
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1::text[]) ORDER BY c.relname`,
      [tables],
    )).rows;
    const shapeBefore = await shape();
    expect(shapeBefore).toHaveLength(tables.length);
    const reports = await rebuildProjections(db.pool, findProjections(undefined));
    expect(reports.length).toBeGreaterThan(0);
    expect((await db.pool.query('SELECT * FROM backend_usage ORDER BY backend')).rows).toEqual(before);
    const verified = await verifyProjections(db.pool, findProjections(undefined));
    expect(verified.every((v) => v.identical)).toBe(true);
    // The live index names survive the swap.
    const idx = (await db.pool.query("SELECT indexname FROM pg_indexes WHERE tablename = 'object_copies' ORDER BY 1")).rows.map((r: { indexname: string }) => r.indexname);
    expect(idx).toEqual(['object_copies_by_backend', 'object_copies_by_backend_size', 'object_copies_corrupt', 'object_copies_pkey', 'object_copies_scrub_order']);
    // The replay filled unlogged copies without their secondary indexes; what was swapped in is logged and indexed as before.
    expect(await shape()).toEqual(shapeBefore);
    await objects.write('photos', 'after-rebuild', 10, ['b2']);
  });

  it('verify reports a tampered live row', async () => {
    await db.pool.query("UPDATE backend_usage SET bytes_used = bytes_used + 1 WHERE backend = 'b2'");
    const [report] = await verifyProjections(db.pool, findProjections('usage'));
    expect(report?.identical).toBe(false);
    expect(report?.diffs.find((d) => d.table === 'backend_usage')).toMatchObject({ onlyInLive: 1, onlyInRebuilt: 1 });
    await rebuildProjections(db.pool, findProjections('usage'));
    const [again] = await verifyProjections(db.pool, findProjections('usage'));
    expect(again?.identical).toBe(true);
  });
});
