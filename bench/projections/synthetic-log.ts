/**
 * The rebuild bench's synthetic log: eight backends registered, then object writes (60 %),
 * overwrites with their displaced copy cleaned up (30 %) and deletes with a usage flush (10 %),
 * in batches of appends as one client would send them. Deterministic: the same count gives the
 * same events, ids included, whether appended or imported.
 */
import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import { encodeEvent } from '../../domain/events/codec.js';
import type { EventData, EventType } from '../../domain/events/catalog.js';
import type { NewEvent, StreamAppend } from '../../domain/eventstore/port.js';

export const syntheticBackends = Array.from({ length: 8 }, (_, i) => `backend${i}`);

const epoch = new Date('2026-11-01T00:00:00Z').getTime();

interface Obj { key: string; writeId: string; size: number; backend: string; revision: bigint }

/** A deterministic UUID (v4 layout) and ULID from a counter, so two runs make the same log. */
function uuidOf(n: number): string {
  const h = createHash('sha1').update(`bench-event-${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const idOf = (n: number): string => ulid(epoch + n, () => ((n * 7919) % 32) / 32);

/** Batches of appends making about `target` events (a batch may end one event past it). */
export function* syntheticLog(target: number): Generator<StreamAppend[]> {
  let tick = 0;
  const ev = <T extends EventType>(type: T, data: EventData<T>): NewEvent => {
    const e = encodeEvent(type, data);
    const n = tick++;
    return { id: uuidOf(n), type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: { actor: 'bench', at: new Date(epoch + n).toISOString() } };
  };
  yield syntheticBackends.map((b) => ({
    streamId: `backend-${b}`, expected: 'no_stream' as const, events: [ev('BackendRegistered', {
      backend: b, endpoint: 'http://127.0.0.1:1', bucket: 'data', region: 'us-east-1',
      limits: { quotaBytes: 0, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
    })],
  }));
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
  let appended = syntheticBackends.length;
  let seq = 0;
  while (appended < target) {
    const appends: StreamAppend[] = [];
    const touched = new Set<string>();
    for (let i = 0; i < 400 && appended < target; i++) {
      const roll = seq++ % 10;
      const existing = keys.length > 0 ? live.get(keys[(seq * 7919) % keys.length] as string) : undefined;
      if (roll < 6 || !existing || touched.has(existing.key)) {
        const key = `dir${seq % 97}/file-${seq}.bin`;
        const writeId = idOf(seq);
        const backend = syntheticBackends[seq % syntheticBackends.length] as string;
        const size = 1000 + (seq % 5000);
        appends.push({ streamId: `object-bench/${key}`, expected: 'no_stream', events: [ev('ObjectWritten', {
          bucket: 'bench', key, writeId, size, previousSize: null, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'application/octet-stream',
          metadata: {}, headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: new Date(epoch + seq).toISOString(),
          copies: [{ backend, storageKey: `bench/${key}~${writeId}`, size }], displaced: [], origin: 'put', encryption: null,
        })] });
        remember({ key, writeId, size, backend, revision: 0n });
        touched.add(key);
        appended++;
      } else if (roll < 9) {
        const writeId = idOf(seq);
        const backend = syntheticBackends[(seq + 3) % syntheticBackends.length] as string;
        const size = 500 + (seq % 7000);
        const cleanupId = `c${writeId}`;
        appends.push({ streamId: `object-bench/${existing.key}`, expected: existing.revision, events: [ev('ObjectWritten', {
          bucket: 'bench', key: existing.key, writeId, size, previousSize: existing.size, etag: 'd41d8cd98f00b204e9800998ecf8427e',
          contentType: 'text/plain', metadata: { n: String(seq) }, headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: new Date(epoch + seq).toISOString(),
          copies: [{ backend, storageKey: `bench/${existing.key}~${writeId}`, size }],
          displaced: [{ backend: existing.backend, storageKey: `bench/${existing.key}~${existing.writeId}`, size: existing.size, cleanupId }], origin: 'put', encryption: null,
        })] });
        appends.push({ streamId: `cleanup-${cleanupId}`, expected: 'no_stream', events: [ev('CleanupSucceeded', { attempt: 1, backend: existing.backend, size: existing.size })] });
        remember({ key: existing.key, writeId, size, backend, revision: existing.revision + 1n });
        touched.add(existing.key);
        appended += 2;
      } else {
        const cleanupId = `c${idOf(seq)}`;
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
    yield appends;
  }
}
