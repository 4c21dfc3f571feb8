/**
 * Rebuild and verify on a synthetic log: appends N events (default 1,000,000) through the real
 * append path (inline projections included) into a fresh database — object writes, overwrites
 * with displaced copies, deletes, cleanup results, usage flushes — then times `verify` and
 * `rebuild` of every projection and prints events/s.
 *
 *   node dist/bench/projections/rebuild-1m.js [--events 1000000] [--keep]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ulid } from 'ulid';
import { encodeEvent } from '../../domain/events/codec.js';
import type { EventData, EventType } from '../../domain/events/catalog.js';
import type { NewEvent, StreamAppend } from '../../domain/eventstore/port.js';
import { migrateSchema } from '../../projections/schema/plan.js';
import { createPool } from '../../infra/db/pool.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { createLogger } from '../../infra/telemetry/logger.js';
import { formatCount, ProgressBar } from '../../ops/index.js';
import { ProjectionRunner } from '../../projections/async/runner.js';
import { rebuildProjections, verifyProjections } from '../../projections/rebuild.js';
import { allProjections, asyncProjections } from '../../projections/registry.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false } } });
const target = Number(values.events);
const adminUrl = process.env.S3O_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `s3o_bench_rebuild_${Date.now()}`;

const at = new Date('2026-11-01T00:00:00Z').getTime();
let tick = 0;
function ev<T extends EventType>(type: T, data: EventData<T>): NewEvent {
  const e = encodeEvent(type, data);
  return { id: randomUUID(), type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: { actor: 'bench', at: new Date(at + tick++).toISOString() } };
}

interface Obj { key: string; writeId: string; size: number; backend: string; revision: bigint }

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const pool = createPool({ connectionString: url.toString(), max: 4 });
  try {
    await migrateSchema(pool);
    const store = new PostgresEventStore(pool);
    const backends = Array.from({ length: 8 }, (_, i) => `backend${i}`);
    for (const b of backends) {
      await store.appendToStream(`backend-${b}`, [ev('BackendRegistered', {
        backend: b, endpoint: 'http://127.0.0.1:1', bucket: 'data', region: 'us-east-1',
        limits: { quotaBytes: 0, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
      })], { expected: 'no_stream' });
    }
    const live = new Map<string, Obj>();
    // Keys in an array too, so picking an existing object is O(1) (removal swaps with the last).
    const keys: string[] = [];
    const slot = new Map<string, number>();
    const remember = (o: Obj) => {
      if (!slot.has(o.key)) {
        slot.set(o.key, keys.length);
        keys.push(o.key);
      }
      live.set(o.key, o);
    };
    const forget = (key: string) => {
      const i = slot.get(key) as number;
      const last = keys.pop() as string;
      if (last !== key) {
        keys[i] = last;
        slot.set(last, i);
      }
      slot.delete(key);
      live.delete(key);
    };
    let appended = backends.length;
    let seq = 0;
    const bar = new ProgressBar('appending');
    const started = performance.now();
    while (appended < target) {
      const appends: StreamAppend[] = [];
      const touched = new Set<string>();
      for (let i = 0; i < 400 && appended < target; i++) {
        const roll = seq++ % 10;
        const existing = keys.length > 0 ? live.get(keys[(seq * 7919) % keys.length] as string) : undefined;
        if (roll < 6 || !existing || touched.has(existing.key)) {
          const key = `dir${seq % 97}/file-${seq}.bin`;
          const writeId = ulid(at + seq);
          const backend = backends[seq % backends.length] as string;
          const size = 1000 + (seq % 5000);
          appends.push({ streamId: `object-bench/${key}`, expected: 'no_stream', events: [ev('ObjectWritten', {
            bucket: 'bench', key, writeId, size, previousSize: null, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'application/octet-stream',
            metadata: {}, headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: new Date(at + seq).toISOString(),
            copies: [{ backend, storageKey: `bench/${key}~${writeId}`, size }], displaced: [], origin: 'put', encryption: null,
          })] });
          remember({ key, writeId, size, backend, revision: 0n });
          touched.add(key);
          appended++;
        } else if (roll < 9) {
          const writeId = ulid(at + seq);
          const backend = backends[(seq + 3) % backends.length] as string;
          const size = 500 + (seq % 7000);
          const cleanupId = ulid(at + seq);
          appends.push({ streamId: `object-bench/${existing.key}`, expected: existing.revision, events: [ev('ObjectWritten', {
            bucket: 'bench', key: existing.key, writeId, size, previousSize: existing.size, etag: 'd41d8cd98f00b204e9800998ecf8427e',
            contentType: 'text/plain', metadata: { n: String(seq) }, headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: new Date(at + seq).toISOString(),
            copies: [{ backend, storageKey: `bench/${existing.key}~${writeId}`, size }],
            displaced: [{ backend: existing.backend, storageKey: `bench/${existing.key}~${existing.writeId}`, size: existing.size, cleanupId }], origin: 'put', encryption: null,
          })] });
          appends.push({ streamId: `cleanup-${cleanupId}`, expected: 'no_stream', events: [ev('CleanupSucceeded', { attempt: 1, backend: existing.backend, size: existing.size })] });
          remember({ key: existing.key, writeId, size, backend, revision: existing.revision + 1n });
          touched.add(existing.key);
          appended += 2;
        } else {
          const cleanupId = ulid(at + seq);
          appends.push({ streamId: `object-bench/${existing.key}`, expected: existing.revision, events: [ev('ObjectDeleted', {
            bucket: 'bench', key: existing.key, writeId: existing.writeId, size: existing.size, reason: 'client', reclaim: true,
            displaced: [{ backend: existing.backend, storageKey: `bench/${existing.key}~${existing.writeId}`, size: existing.size, cleanupId }],
          })] });
          appends.push({ streamId: `usage-${existing.backend}`, expected: 'any', events: [ev('UsageFlushed', { backend: existing.backend, period: '2026-11', apiRequests: 3, egressBytes: existing.size, ingressBytes: 0 })] });
          forget(existing.key);
          touched.add(existing.key);
          appended += 2;
        }
      }
      await store.appendToStreams(appends);
      bar.update(appended, target);
    }
    bar.finish();
    const appendSeconds = (performance.now() - started) / 1000;
    console.log(`appended ${formatCount(appended)} events in ${appendSeconds.toFixed(1)} s (${formatCount(appended / appendSeconds)} events/s, inline projections included)`);

    const runner = new ProjectionRunner(pool, asyncProjections, { owner: 'bench', logger: createLogger('silent'), batchSize: 5000 });
    const catchUpStarted = performance.now();
    await runner.catchUp();
    await runner.stop();
    console.log(`async projections caught up in ${((performance.now() - catchUpStarted) / 1000).toFixed(1)} s`);

    const progress = new Map<string, ProgressBar>();
    const onProgress = (p: { projection: string; applied: number; total: number; phase: string }) => {
      let b = progress.get(p.projection);
      if (!b) progress.set(p.projection, (b = new ProgressBar(p.projection)));
      b.update(p.applied, p.total, p.phase);
    };
    const verified = await verifyProjections(pool, allProjections, onProgress);
    for (const b of progress.values()) b.finish();
    progress.clear();
    for (const r of verified) {
      console.log(`verify  ${r.projection.padEnd(36)} ${r.identical ? 'identical' : 'DIFFERS'}  ${formatCount(r.events)} events in ${r.seconds.toFixed(1)} s = ${formatCount(r.eventsPerSecond)} events/s`);
    }
    const rebuilt = await rebuildProjections(pool, allProjections, onProgress);
    for (const b of progress.values()) b.finish();
    for (const r of rebuilt) {
      console.log(`rebuild ${r.projection.padEnd(36)} ${formatCount(r.events)} events in ${r.seconds.toFixed(1)} s = ${formatCount(r.eventsPerSecond)} events/s`);
    }
    const after = await verifyProjections(pool, allProjections);
    console.log(`after rebuild: ${after.every((r) => r.identical) ? 'every projection identical to a fresh replay' : 'DIFFERENCES FOUND'}`);
    if (!verified.every((r) => r.identical) || !after.every((r) => r.identical)) process.exitCode = 1;
  } finally {
    await pool.end();
    if (!values.keep) await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
