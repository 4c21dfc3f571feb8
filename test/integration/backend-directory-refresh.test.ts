import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { BackendDirectory, type BackendSnapshot } from '../../services/backends/backend-directory.js';
import { UsageMeter } from '../../services/usage/usage-meter.js';
import { newEvent, ObjectWriter, registerBackend } from '../support/object-events.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/store.js';

/**
 * The router's usage view is refreshed from the projections while this process commits and
 * notes its own changes. A refresh whose read was taken before a local commit and answered after
 * that commit was noted must not put the backend back as it was before the commit (a backend a
 * delete freed kept refusing writes as full until the next refresh). Room held by work in flight
 * (a part streaming to its backend) is not in any read and survives them all until released; a
 * lifecycle change this process committed is seen at once.
 */
describe('backend directory refresh against local commits', () => {
  let db: MigratedDatabase;
  let store: PostgresEventStore;
  let writer: ObjectWriter;
  let directory: BackendDirectory;

  /** A pool whose reads are taken at once but answered only when `release` is called. */
  function heldReads(): { pool: pg.Pool; read: Promise<void>; release(): void } {
    let readDone!: () => void;
    let release!: () => void;
    const read = new Promise<void>((r) => { readDone = r; });
    const released = new Promise<void>((r) => { release = r; });
    const pool = {
      query: async (...args: Parameters<pg.Pool['query']>) => {
        const result = await (db.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
        readDone();
        await released;
        return result;
      },
    } as unknown as pg.Pool;
    return { pool, read, release };
  }

  async function projected(backend: string): Promise<Omit<BackendSnapshot, 'state' | 'quotaBytes'>> {
    const { rows } = await db.pool.query<{ used: string; orphan: string; pending: string; count: string }>(
      'SELECT bytes_used AS used, orphan_bytes AS orphan, pending_bytes AS pending, object_count AS count FROM backend_usage WHERE backend = $1', [backend]);
    const r = rows[0];
    if (!r) throw new Error(`no usage row for ${backend}`);
    return { usedBytes: Number(r.used), orphanBytes: Number(r.orphan), pendingBytes: Number(r.pending), objectCount: Number(r.count) };
  }

  function seen(backend: string): Omit<BackendSnapshot, 'state' | 'quotaBytes'> | undefined {
    const s = directory.state(backend);
    return s && { usedBytes: s.usedBytes, orphanBytes: s.orphanBytes, pendingBytes: s.pendingBytes, objectCount: s.objectCount };
  }

  beforeAll(async () => {
    db = await createMigratedDatabase();
    store = new PostgresEventStore(db.pool);
    writer = new ObjectWriter(store);
    directory = new BackendDirectory(
      [{
        name: 'b1',
        connection: { name: 'b1', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'b1', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true, timeoutMs: 1000 },
        quotaBytes: 1000, maxObjectSize: 0, limits: { apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
      }],
      { enabled: true, failureThreshold: 5, openTimeoutMs: 60_000 },
      new UsageMeter(),
    );
    // As the orchestrator wires it: the directory hears of every local commit before its caller goes on.
    store.onAppended = (results, appends) => directory.committed(results, appends);
    await registerBackend(store, 'b1', 1000);
  });
  afterAll(async () => db.close());

  /** Writes and notes like the object writer: a copy's bytes counted once the write committed. */
  async function write(key: string, size: number): Promise<void> {
    await writer.write('bk', key, size, ['b1']);
    directory.noteUsage('b1', { used: size, count: 1 });
  }

  /** Deletes and notes like the delete handler: the copy's bytes become orphaned. */
  async function remove(key: string, size: number): Promise<void> {
    await writer.delete('bk', key);
    directory.noteUsage('b1', { used: -size, orphan: size, count: -1 });
  }

  it('a read taken before a delete and answered after it keeps the delete', async () => {
    await write('full', 900);
    await directory.refresh(db.pool);
    expect(seen('b1')).toEqual(await projected('b1'));
    expect(seen('b1')?.usedBytes).toBe(900);

    const held = heldReads();
    const refreshing = directory.refresh(held.pool);
    await held.read;
    await remove('full', 900);
    held.release();
    await refreshing;

    expect(seen('b1')).toEqual(await projected('b1'));
    expect(seen('b1')).toMatchObject({ usedBytes: 0, orphanBytes: 900, objectCount: 0 });
    // The router sees the room the delete made (its orphaned bytes still count until removed).
    expect(directory.candidates(50).find((c) => c.name === 'b1')).toMatchObject({ usedBytes: 0, orphanBytes: 900 });

    // The next read sees the delete itself: nothing is counted twice.
    await directory.refresh(db.pool);
    expect(seen('b1')).toEqual(await projected('b1'));
  });

  it('a read answered after a later one that saw a local write is dropped', async () => {
    const held = heldReads();
    const older = directory.refresh(held.pool);
    await held.read;
    await write('later', 40);
    await directory.refresh(db.pool);
    expect(seen('b1')).toEqual(await projected('b1'));
    held.release();
    await older;
    expect(seen('b1')).toEqual(await projected('b1'));
    expect(seen('b1')?.usedBytes).toBe(40);
  });

  it('a local write noted before the read was taken is counted once', async () => {
    await write('before', 10);
    const held = heldReads();
    const refreshing = directory.refresh(held.pool);
    await held.read;
    held.release();
    await refreshing;
    expect(seen('b1')).toEqual(await projected('b1'));
    expect(seen('b1')?.usedBytes).toBe(50);
  });

  it('room held for a part in flight counts through every read until released', async () => {
    await directory.refresh(db.pool);
    const before = await projected('b1');
    // Held before any commit of this process records it, as a part is held while it streams.
    const release = directory.hold('b1', { pending: 60 });
    expect(seen('b1')).toEqual({ ...before, pendingBytes: before.pendingBytes + 60 });
    await directory.refresh(db.pool);
    expect(seen('b1')).toEqual({ ...before, pendingBytes: before.pendingBytes + 60 });

    // A read taken before the part's commit and answered after it: the commit's noted bytes count
    // again, the released hold no more (before, a read dropped the hold and kept its release: the part's room vanished).
    const held = heldReads();
    const refreshing = directory.refresh(held.pool);
    await held.read;
    await write('part', 30);
    release();
    held.release();
    await refreshing;
    expect(seen('b1')).toEqual(await projected('b1'));
    expect(seen('b1')).toMatchObject({ usedBytes: before.usedBytes + 30, pendingBytes: before.pendingBytes });
    release();
    expect(seen('b1')).toEqual(await projected('b1'));
  });

  it('a lifecycle change committed here is seen at once, and a read taken before it does not undo it', async () => {
    await directory.refresh(db.pool);
    expect(directory.state('b1')?.state).toBe('active');
    const held = heldReads();
    const refreshing = directory.refresh(held.pool);
    await held.read;
    await store.appendToStream('backend-b1', [newEvent('BackendDrainStarted', { backend: 'b1', jobId: 'j1' })], { expected: 'stream_exists' });
    // A drain's moves and writes skip it from now on, not from the next refresh.
    expect(directory.state('b1')?.state).toBe('draining');
    expect(directory.candidates(1).find((c) => c.name === 'b1')?.state).toBe('draining');
    held.release();
    await refreshing;
    expect(directory.state('b1')?.state).toBe('draining');
    await directory.refresh(db.pool);
    expect(directory.state('b1')?.state).toBe('draining');
    await store.appendToStream('backend-b1', [newEvent('BackendDrainCancelled', { backend: 'b1', jobId: 'j1' })], { expected: 'stream_exists' });
    expect(directory.state('b1')?.state).toBe('active');
  });
});
