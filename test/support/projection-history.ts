import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { encodeEvent } from '../../domain/events/codec.js';
import type { EventData, EventType } from '../../domain/events/catalog.js';
import { ConcurrencyError, InvariantViolationError } from '../../domain/eventstore/errors.js';
import type { EventStore, NewEvent, StreamAppend } from '../../domain/eventstore/port.js';
import { allProjections } from '../../projections/registry.js';

/**
 * Random histories for the projections: abstract operations (small numbers that pick keys,
 * backends, items) that a `HistoryWriter` turns into events valid for the state so far and
 * appends through the real append path. The same operations give the same history anywhere
 * (ids and times come from counters), so two databases can be fed one history.
 */
export type HistoryOp =
  | { op: 'write'; key: number; size: number; backends: number[]; replicateToo: boolean }
  | { op: 'delete'; key: number; reclaim: boolean }
  | { op: 'replicaAdd'; key: number; backend: number }
  | { op: 'replicaDrop'; key: number; copy: number; reclaim: boolean }
  | { op: 'move'; key: number; copy: number; to: number; job: number }
  | { op: 'orphan'; backend: number; size: number; multipart: boolean }
  | { op: 'cleanup'; item: number; action: 'fail' | 'exhaust' | 'retry' | 'succeed' | 'dismiss' }
  | { op: 'uploadCreate'; key: number; backend: number }
  | { op: 'part'; upload: number; part: number; size: number }
  | { op: 'uploadEnd'; upload: number; complete: boolean }
  | { op: 'jobStart'; backend: number }
  | { op: 'jobMove'; job: number; outcome: 'started' | 'moved' | 'dropped' | 'skipped' | 'failed' }
  | { op: 'jobEnd'; job: number; outcome: 'completed' | 'cancelled' | 'failed' }
  | { op: 'backend'; backend: number; change: 'limits' | 'drain' | 'drained' | 'cancel' | 'reactivate' | 'remove' | 'purge' }
  | { op: 'usage'; backend: number; month: number; requests: number }
  | { op: 'admin' }
  | { op: 'integrity'; key: number; copy: number; check: 'verified' | 'corrupted' | 'repaired' | 'backfilled' | 'scrubbed' }
  | { op: 'rewrite'; key: number; change: 'encrypt' | 'decrypt' | 'rewrap' | 'legacyRewrap' };

const small = (max: number) => fc.integer({ min: 0, max });
export const historyOp: fc.Arbitrary<HistoryOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('write' as const), key: small(6), size: small(400), backends: fc.uniqueArray(small(2), { minLength: 1, maxLength: 2 }), replicateToo: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: small(6), reclaim: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('replicaAdd' as const), key: small(6), backend: small(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('replicaDrop' as const), key: small(6), copy: small(2), reclaim: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), key: small(6), copy: small(2), to: small(2), job: small(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('orphan' as const), backend: small(2), size: small(300), multipart: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('cleanup' as const), item: small(20), action: fc.constantFrom('fail' as const, 'exhaust' as const, 'retry' as const, 'succeed' as const, 'dismiss' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('uploadCreate' as const), key: small(6), backend: small(2) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('part' as const), upload: small(3), part: fc.integer({ min: 1, max: 3 }), size: small(300) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('uploadEnd' as const), upload: small(3), complete: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('jobStart' as const), backend: small(2) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('jobMove' as const), job: small(3), outcome: fc.constantFrom('started' as const, 'moved' as const, 'dropped' as const, 'skipped' as const, 'failed' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('jobEnd' as const), job: small(3), outcome: fc.constantFrom('completed' as const, 'cancelled' as const, 'failed' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('backend' as const), backend: small(2), change: fc.constantFrom('limits' as const, 'drain' as const, 'drained' as const, 'cancel' as const, 'reactivate' as const, 'remove' as const, 'purge' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('usage' as const), backend: small(2), month: small(1), requests: small(50) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'admin' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('integrity' as const), key: small(6), copy: small(2), check: fc.constantFrom('verified' as const, 'corrupted' as const, 'repaired' as const, 'backfilled' as const, 'scrubbed' as const) }) },
);

/**
 * Encryption jobs' events on existing objects: rewrites of every copy encrypted, decrypted or
 * re-wrapped (StoredBytesRewritten), and an older build's DataKeyRewrapped. Not in `historyOp`,
 * which tests of other schema versions share.
 */
export const rewriteOp: fc.Arbitrary<HistoryOp> = fc.record({
  op: fc.constant('rewrite' as const), key: small(6), change: fc.constantFrom('encrypt' as const, 'decrypt' as const, 'rewrap' as const, 'legacyRewrap' as const),
});

/** Builds a stored event; tests swap it to store some type in another schema version. */
export type EventEncoder = <T extends EventType>(type: T, data: EventData<T>, at: string) => NewEvent;

export const currentEncoder: EventEncoder = (type, data, at) => {
  const e = encodeEvent(type, data);
  return { id: randomUUID(), type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: { actor: 'history', at } };
};

interface Copy { backend: string; storageKey: string; size: number }
interface ObjectModel { revision: bigint; writeId: string; size: number; copies: Copy[]; encrypted?: boolean }
interface UploadModel { id: string; key: string; backend: string; revision: bigint; parts: Map<number, number> }
interface JobModel { id: string; revision: bigint; backend: string }

const backendNames = ['b1', 'b2', 'b3'];
const hexOf = (text: string): string => createHash('sha256').update(text).digest('hex');
const start = Date.parse('2026-11-01T00:00:00Z');
const keyFacts = (n: number) => ({ keyId: `00000000000000${n.toString(16).padStart(2, '0')}`, keyAlias: 'config-0', wrapScheme: 'aes256-kw' as const, wrappedKey: Buffer.from(`key${n}`).toString('base64') });
const envelopeOf = (size: number, n: number) => ({
  format: 2 as const, chunkSize: 65536, headerLength: 60, key: keyFacts(n), segments: [{ partNumber: 0, plainSize: size, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' }],
});

/** Turns operations into appends, keeping just enough state to make each one valid. */
export class HistoryWriter {
  private tick = 0;
  private objects = new Map<string, ObjectModel>();
  private cleanup: { id: string; backend: string; size: number }[] = [];
  private uploads: UploadModel[] = [];
  private jobs: JobModel[] = [];
  private backendRevisions = new Map<string, bigint>();
  /** Appends the projections refused (a quota, a copy of a version no longer current): nothing stored. */
  refused = 0;

  constructor(
    private readonly store: EventStore,
    private readonly encode: EventEncoder = currentEncoder,
  ) {}

  private next(prefix: string): string {
    return `${prefix}${String(++this.tick).padStart(5, '0')}`;
  }

  private event<T extends EventType>(type: T, data: EventData<T>): NewEvent {
    return this.encode(type, data, new Date(start + ++this.tick * 1000).toISOString());
  }

  private async append(appends: StreamAppend[]): Promise<boolean> {
    try {
      await this.store.appendToStreams(appends);
      return true;
    } catch (err) {
      if (err instanceof InvariantViolationError || err instanceof ConcurrencyError) {
        this.refused++;
        return false;
      }
      throw err;
    }
  }

  /** Registers the backends every history starts with (one has a small quota, so some writes are refused). */
  async begin(): Promise<void> {
    for (const [i, backend] of backendNames.entries()) {
      const limits = { quotaBytes: i === 2 ? 900 : 0, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 };
      await this.append([{ streamId: `backend-${backend}`, expected: 'no_stream', events: [this.event('BackendRegistered', { backend, endpoint: 'http://127.0.0.1:1', bucket: 'data', region: 'us-east-1', limits })] }]);
      this.backendRevisions.set(backend, 0n);
    }
  }

  async run(ops: readonly HistoryOp[]): Promise<void> {
    for (const op of ops) await this.apply(op);
  }

  /** An ObjectWritten for `key`: the previous version's copies are displaced into cleanup items. */
  private written(key: string, size: number, backends: string[], origin: 'put' | 'multipart', uploadId?: string) {
    const prev = this.objects.get(key);
    const writeId = this.next('w');
    const copies = backends.map((backend) => ({ backend, storageKey: `data/${key}~${writeId}-${backend}`, size }));
    const displaced = (prev?.copies ?? []).map((c) => ({ ...c, cleanupId: this.next('c') }));
    const event = this.event('ObjectWritten', {
      bucket: 'data', key, writeId, size, previousSize: prev?.size ?? null, etag: `etag-${writeId}`, contentType: 'application/octet-stream',
      metadata: { n: writeId }, headers: {}, checksum: null,
      // Every other write carries a SHA-256 (integrity on), the rest none (written before it was).
      contentSha256: this.tick % 2 === 0 ? null : origin === 'multipart' ? `${hexOf(`${writeId}*`)}-1` : hexOf(writeId),
      parts: origin === 'multipart' ? [{ partNumber: 1, size, ...(this.tick % 2 === 0 ? {} : { sha256: hexOf(`${writeId}/1`) }) }] : null,
      lastModified: new Date(start + this.tick * 1000).toISOString(), copies, displaced, origin, encryption: null, ...(uploadId ? { uploadId } : {}),
    });
    const append: StreamAppend & { events: NewEvent[] } = { streamId: `object-data/${key}`, expected: prev?.revision ?? 'no_stream', events: [event] };
    const model: ObjectModel = { revision: (prev?.revision ?? -1n) + 1n, writeId, size, copies };
    return { append, model, displaced };
  }

  private remember(key: string, written: { model: ObjectModel; displaced: { cleanupId: string; backend: string; size: number }[] }): void {
    this.objects.set(key, written.model);
    for (const d of written.displaced) this.cleanup.push({ id: d.cleanupId, backend: d.backend, size: d.size });
  }

  private async apply(o: HistoryOp): Promise<void> {
    const key = 'key' in o ? `k${o.key}` : '';
    const obj = key ? this.objects.get(key) : undefined;
    const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
    switch (o.op) {
      case 'write': {
        const w = this.written(key, o.size, o.backends.map((b) => backendNames[b] as string), 'put');
        const extra = backendNames.find((b) => !w.model.copies.some((c) => c.backend === b));
        if (o.replicateToo && extra) {
          // Two events on one stream in one append.
          const copy = { backend: extra, storageKey: `data/${key}~${w.model.writeId}-${extra}`, size: o.size };
          w.append.events.push(this.event('ReplicaAdded', { bucket: 'data', key, writeId: w.model.writeId, copy }));
          w.model = { ...w.model, revision: w.model.revision + 1n, copies: [...w.model.copies, copy] };
        }
        if (await this.append([w.append])) this.remember(key, w);
        return;
      }
      case 'delete': {
        if (!obj) return;
        const displaced = obj.copies.map((c) => ({ ...c, cleanupId: this.next('c') }));
        const ok = await this.append([{ streamId: `object-data/${key}`, expected: obj.revision, events: [this.event('ObjectDeleted', {
          bucket: 'data', key, writeId: obj.writeId, size: obj.size, reason: 'client', displaced, reclaim: o.reclaim,
        })] }]);
        if (!ok) return;
        this.objects.delete(key);
        if (o.reclaim) for (const d of displaced) this.cleanup.push({ id: d.cleanupId, backend: d.backend, size: d.size });
        return;
      }
      case 'replicaAdd': {
        const backend = backendNames[o.backend] as string;
        if (!obj || obj.copies.some((c) => c.backend === backend)) return;
        const copy = { backend, storageKey: `data/${key}~${obj.writeId}-${backend}`, size: obj.size };
        if (await this.append([{ streamId: `object-data/${key}`, expected: obj.revision, events: [this.event('ReplicaAdded', { bucket: 'data', key, writeId: obj.writeId, copy })] }])) {
          this.objects.set(key, { ...obj, revision: obj.revision + 1n, copies: [...obj.copies, copy] });
        }
        return;
      }
      case 'replicaDrop': {
        const copy = obj && pick(obj.copies, o.copy);
        if (!obj || !copy) return;
        const dropped = { ...copy, cleanupId: this.next('c') };
        if (await this.append([{ streamId: `object-data/${key}`, expected: obj.revision, events: [this.event('ReplicaDropped', {
          bucket: 'data', key, writeId: obj.writeId, copy: dropped, reason: 'over-replication', reclaim: o.reclaim,
        })] }])) {
          this.objects.set(key, { ...obj, revision: obj.revision + 1n, copies: obj.copies.filter((c) => c !== copy) });
          if (o.reclaim) this.cleanup.push({ id: dropped.cleanupId, backend: copy.backend, size: copy.size });
        }
        return;
      }
      case 'move': {
        const from = obj && pick(obj.copies, o.copy);
        const to = backendNames[o.to] as string;
        const job = pick(this.jobs, o.job);
        if (!obj || !from || !job || obj.copies.some((c) => c.backend === to)) return;
        const moveId = this.next('m');
        const target = { backend: to, storageKey: `data/${key}~${obj.writeId}-${to}`, size: obj.size };
        const source = { ...from, cleanupId: this.next('c') };
        const ok = await this.append([
          { streamId: `object-data/${key}`, expected: obj.revision, events: [this.event('CopyMoved', { bucket: 'data', key, writeId: obj.writeId, from: source, to: target, jobId: job.id, moveId })] },
          { streamId: `job-${job.id}`, expected: job.revision, events: [
            this.event('MoveStarted', { jobId: job.id, moveId, bucket: 'data', key, writeId: obj.writeId, from: from.backend, to: target }),
            this.event('MoveCompleted', { jobId: job.id, moveId, bucket: 'data', key, writeId: obj.writeId, from: from.backend, to: target, bytes: obj.size }),
          ] },
        ]);
        if (!ok) return;
        this.objects.set(key, { ...obj, revision: obj.revision + 1n, copies: obj.copies.map((c) => (c === from ? target : c)) });
        job.revision += 2n;
        this.cleanup.push({ id: source.cleanupId, backend: from.backend, size: from.size });
        return;
      }
      case 'integrity': {
        if (o.check === 'scrubbed') {
          const passId = this.next('s');
          await this.append([{ streamId: `scrub-${passId}`, expected: 'no_stream', events: [this.event('ScrubPassCompleted', {
            passId, trigger: 'schedule', startedAt: new Date(start + this.tick * 1000).toISOString(), checked: o.copy, corrupt: 1, repaired: 1, unrepairable: 0, skipped: 0,
          })] }]);
          return;
        }
        const copy = obj && pick(obj.copies, o.copy);
        if (!obj || !copy) return;
        const ref = { bucket: 'data', key, writeId: obj.writeId, backend: copy.backend, storageKey: copy.storageKey };
        const stream = `object-data/${key}`;
        if (o.check === 'verified' || o.check === 'corrupted') {
          const event = o.check === 'verified'
            ? this.event('CopyVerified', { ...ref, component: 'scrub' })
            : this.event('CopyCorrupted', { ...ref, component: 'read', reason: 'checksum-mismatch', expectedSha256: hexOf('expected'), actualSha256: hexOf(`${this.tick}`) });
          if (await this.append([{ streamId: stream, expected: obj.revision, events: [event] }])) this.objects.set(key, { ...obj, revision: obj.revision + 1n });
          return;
        }
        if (o.check === 'backfilled') {
          const event = this.event('ChecksumBackfilled', { bucket: 'data', key, writeId: obj.writeId, contentSha256: hexOf(`${obj.writeId}!`), parts: null });
          if (await this.append([{ streamId: stream, expected: obj.revision, events: [event] }])) this.objects.set(key, { ...obj, revision: obj.revision + 1n });
          return;
        }
        // A repair writes a fresh copy on the same backend; the corrupt bytes become an orphan.
        const to = { backend: copy.backend, storageKey: `${copy.storageKey}-r${this.tick}`, size: copy.size };
        const from = { ...copy, cleanupId: this.next('c') };
        const ok = await this.append([{ streamId: stream, expected: obj.revision, events: [
          this.event('CopyRepaired', { bucket: 'data', key, writeId: obj.writeId, from, to, source: copy.backend }),
        ] }]);
        if (!ok) return;
        this.objects.set(key, { ...obj, revision: obj.revision + 1n, copies: obj.copies.map((c) => (c === copy ? to : c)) });
        this.cleanup.push({ id: from.cleanupId, backend: copy.backend, size: copy.size });
        return;
      }
      case 'orphan': {
        const id = this.next('o');
        const backend = backendNames[o.backend] as string;
        const ok = await this.append([{ streamId: `cleanup-${id}`, expected: 'no_stream', events: [this.event('OrphanRecorded', {
          backend, storageKey: `data/orphan-${id}`, size: o.size, reason: 'failed_commit', kind: o.multipart ? 'multipart' : 'object',
          ...(o.multipart ? { backendUploadId: `bu-${id}` } : {}),
        })] }]);
        if (ok) this.cleanup.push({ id, backend, size: o.size });
        return;
      }
      case 'cleanup': {
        const item = pick(this.cleanup, o.item);
        if (!item) return;
        const at = new Date(start + (this.tick + 60) * 1000).toISOString();
        const event =
          o.action === 'fail' ? this.event('CleanupFailed', { attempt: 1 + (this.tick % 3), nextRetryAt: at, error: `timeout ${this.tick}` })
          : o.action === 'exhaust' ? this.event('CleanupExhausted', { attempt: 5, error: `gone ${this.tick}` })
          : o.action === 'retry' ? this.event('CleanupRetried', { nextRetryAt: at })
          : o.action === 'succeed' ? this.event('CleanupSucceeded', { attempt: 1, backend: item.backend, size: item.size })
          : this.event('CleanupDismissed', { reason: 'operator', backend: item.backend, size: item.size });
        if (!(await this.append([{ streamId: `cleanup-${item.id}`, expected: 'any', events: [event] }]))) return;
        if (o.action === 'succeed' || o.action === 'dismiss') this.cleanup = this.cleanup.filter((c) => c !== item);
        return;
      }
      case 'uploadCreate': {
        const id = this.next('u');
        const backend = backendNames[o.backend] as string;
        const ok = await this.append([{ streamId: `upload-${id}`, expected: 'no_stream', events: [this.event('MultipartUploadCreated', {
          uploadId: id, bucket: 'data', key, backend, backendUploadId: `bu-${id}`, storageKey: `data/${key}~${id}`, writeId: id,
          contentType: 'application/octet-stream', metadata: { part: 'yes' }, headers: {}, initiatedAt: new Date(start + this.tick * 1000).toISOString(), encryption: null,
        })] }]);
        if (ok) this.uploads.push({ id, key, backend, revision: 0n, parts: new Map() });
        return;
      }
      case 'part': {
        const up = pick(this.uploads, o.upload);
        if (!up) return;
        if (await this.append([{ streamId: `upload-${up.id}`, expected: up.revision, events: [this.event('PartUploaded', {
          uploadId: up.id, backend: up.backend, partNumber: o.part, size: o.size, etag: `e${this.tick}`, backendEtag: `be${this.tick}`, checksum: null, sha256: null, storedSize: o.size, salt: null,
        })] }])) {
          up.revision++;
          up.parts.set(o.part, o.size);
        }
        return;
      }
      case 'uploadEnd': {
        const up = pick(this.uploads, o.upload);
        if (!up) return;
        const size = [...up.parts.values()].reduce((a, b) => a + b, 0);
        const appends: StreamAppend[] = [];
        let written: ReturnType<HistoryWriter['written']> | undefined;
        if (o.complete) {
          appends.push({ streamId: `upload-${up.id}`, expected: up.revision, events: [this.event('MultipartUploadCompleted', {
            uploadId: up.id, backend: up.backend, etag: `etag-${up.id}-${up.parts.size}`, size,
            parts: [...up.parts].map(([partNumber, s]) => ({ partNumber, size: s, etag: `e${partNumber}` })),
          })] });
          written = this.written(up.key, size, [up.backend], 'multipart', up.id);
          appends.push(written.append);
        } else {
          appends.push({ streamId: `upload-${up.id}`, expected: up.revision, events: [this.event('MultipartUploadAborted', { uploadId: up.id, backend: up.backend, reason: 'client' })] });
        }
        if (!(await this.append(appends))) return;
        this.uploads = this.uploads.filter((u) => u !== up);
        if (written) this.remember(up.key, written);
        return;
      }
      case 'jobStart': {
        const id = this.next('j');
        const backend = backendNames[o.backend] as string;
        if (await this.append([{ streamId: `job-${id}`, expected: 'no_stream', events: [this.event('JobStarted', {
          jobId: id, kind: 'drain', backend, objectsTotal: 10, bytesTotal: 1000, params: { backend },
        })] }])) this.jobs.push({ id, revision: 0n, backend });
        return;
      }
      case 'jobMove': {
        const job = pick(this.jobs, o.job);
        if (!job) return;
        const ref = { jobId: job.id, moveId: this.next('m'), bucket: 'data', key: 'k0', writeId: 'w0' };
        const to = { backend: 'b2', storageKey: `data/k0~w0-${ref.moveId}`, size: 10 };
        const event =
          o.outcome === 'started' ? this.event('MoveStarted', { ...ref, from: job.backend, to })
          : o.outcome === 'moved' ? this.event('MoveCompleted', { ...ref, from: job.backend, to, bytes: 10 })
          : o.outcome === 'dropped' ? this.event('MoveCompleted', { ...ref, from: job.backend, to: null, bytes: 0 })
          : o.outcome === 'skipped' ? this.event('MoveSkipped', { ...ref, reason: 'changed' })
          : this.event('MoveFailed', { ...ref, from: job.backend, attempt: 1, error: `boom ${this.tick}`, retryAt: new Date(start).toISOString() });
        if (await this.append([{ streamId: `job-${job.id}`, expected: job.revision, events: [event] }])) job.revision++;
        return;
      }
      case 'jobEnd': {
        const job = pick(this.jobs, o.job);
        if (!job) return;
        const event =
          o.outcome === 'completed' ? this.event('JobCompleted', { jobId: job.id })
          : o.outcome === 'cancelled' ? this.event('JobCancelled', { jobId: job.id })
          : this.event('JobFailed', { jobId: job.id, error: `failed ${this.tick}` });
        // Moves in flight may still report after the end: the job keeps its stream.
        if (await this.append([{ streamId: `job-${job.id}`, expected: job.revision, events: [event] }])) job.revision++;
        return;
      }
      case 'backend': {
        const backend = backendNames[o.backend] as string;
        const revision = this.backendRevisions.get(backend) ?? 0n;
        const jobId = this.next('j');
        const limits = { quotaBytes: backend === 'b3' ? 900 + this.tick : 0, apiRequestLimit: this.tick, egressByteLimit: 0, ingressByteLimit: 0 };
        const event =
          o.change === 'limits' ? this.event('BackendLimitsChanged', { backend, limits, previous: limits })
          : o.change === 'drain' ? this.event('BackendDrainStarted', { backend, jobId })
          : o.change === 'drained' ? this.event('BackendDrained', { backend, jobId })
          : o.change === 'cancel' ? this.event('BackendDrainCancelled', { backend, jobId })
          : o.change === 'reactivate' ? this.event('BackendReactivated', { backend, previousState: 'drained' })
          : o.change === 'remove' ? this.event('BackendRemoved', { backend })
          : this.event('BackendPurged', { backend, jobId });
        if (await this.append([{ streamId: `backend-${backend}`, expected: revision, events: [event] }])) this.backendRevisions.set(backend, revision + 1n);
        return;
      }
      case 'usage': {
        const backend = backendNames[o.backend] as string;
        await this.append([{ streamId: `usage-${backend}`, expected: 'any', events: [this.event('UsageFlushed', {
          backend, period: `2026-${11 + o.month}`, apiRequests: o.requests, egressBytes: o.requests * 10, ingressBytes: o.requests,
        })] }]);
        return;
      }
      case 'admin':
        await this.append([{ streamId: 'admin', expected: 'any', events: [this.event('AdminCommandIssued', { command: 'status', args: {} })] }]);
        return;
      case 'rewrite': {
        if (!obj || (o.change === 'encrypt') === Boolean(obj.encrypted)) return;
        const stream = `object-data/${key}`;
        if (o.change === 'legacyRewrap') {
          const event = this.event('DataKeyRewrapped', {
            bucket: 'data', key, writeId: obj.writeId, previousKeyId: keyFacts(0).keyId, previousKeyAlias: 'config-0', wrap: keyFacts(this.tick), jobId: 'rewrap-job',
          });
          if (await this.append([{ streamId: stream, expected: obj.revision, events: [event] }])) this.objects.set(key, { ...obj, revision: obj.revision + 1n });
          return;
        }
        // Every copy rewritten on its backend under a new key; the old bytes are queued for cleanup.
        const sealed = o.change !== 'decrypt';
        const copies = obj.copies.map((c) => ({ backend: c.backend, storageKey: `${c.storageKey}-${o.change}${this.tick}`, size: obj.size + (sealed ? 61 : 0) }));
        const displaced = obj.copies.map((c) => ({ ...c, cleanupId: this.next('c') }));
        if (copies.length === 0) return;
        const event = this.event('StoredBytesRewritten', {
          bucket: 'data', key, writeId: obj.writeId, change: o.change, copies, displaced, encryption: sealed ? envelopeOf(obj.size, this.tick) : null,
          previousKey: o.change === 'rewrap' ? { keyId: keyFacts(0).keyId, keyAlias: 'config-0' } : null, jobId: 'rewrite-job',
        });
        if (!(await this.append([{ streamId: stream, expected: obj.revision, events: [event] }]))) return;
        this.objects.set(key, { ...obj, revision: obj.revision + 1n, copies, encrypted: sealed });
        for (const d of displaced) this.cleanup.push({ id: d.cleanupId, backend: d.backend, size: d.size });
        return;
      }
    }
  }
}

/** Every row of every projection table, sorted, for comparing two databases or two moments. */
export async function projectionTables(db: pg.Pool | pg.ClientBase, schema = 'public'): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of allProjections.flatMap((p) => p.tables)) {
    const rows = (await db.query(`SELECT * FROM "${schema}"."${t}"`)).rows as Record<string, unknown>[];
    out[t] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** Empties the log and every projection (checkpoints back to the start), for the next history. */
export async function resetLog(db: pg.Pool): Promise<void> {
  const tables = ['events', 'streams', ...allProjections.flatMap((p) => p.tables)];
  await db.query(`TRUNCATE ${tables.join(', ')}`);
  await db.query("UPDATE projection_checkpoints SET tx_id = '0', seq = 0, owner = NULL, lease_until = NULL, status = 'active'");
}
