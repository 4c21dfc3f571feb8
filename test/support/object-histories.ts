import fc from 'fast-check';
import { ulid } from 'ulid';
import type { ObjectHeaders, StoredCopy } from '../../domain/events/common.js';
import type { ObjectCommand } from '../../domain/objects/object-decider.js';
import type { ObjectState } from '../../domain/objects/object-state.js';

/**
 * Random object histories for property tests: steps of an object's life (write, delete, replicas,
 * moves, removals, checks, repairs, backfills) and the decider command each step means once the
 * object's state is known.
 */
export const backends = ['b1', 'b2', 'b3', 'b4'];
const ids = { cleanupId: () => ulid() };
export const text = fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0'));
const word = fc.stringMatching(/^[a-z0-9-]{1,8}$/);
const sha256 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** One step of an object's life, in terms the decider understands once the state is known. */
export type Step =
  | { op: 'write'; on: string[]; size: number; contentType: string; metadata: Record<string, string>; headers: ObjectHeaders; checksum: boolean; sha: string | null; parts: number[] | null; lastModified: Date }
  | { op: 'delete' }
  | { op: 'add'; backend: string }
  | { op: 'drop'; nth: number }
  | { op: 'move'; nth: number; to: string }
  | { op: 'remove'; backend: string; purge: boolean }
  | { op: 'check'; nth: number; corrupt: boolean }
  | { op: 'repair'; nth: number; to: string }
  | { op: 'backfill'; sha: string };

export const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      on: fc.uniqueArray(fc.constantFrom(...backends), { minLength: 1, maxLength: 3 }),
      size: fc.integer({ min: 0, max: 1_000_000 }),
      contentType: text,
      metadata: fc.dictionary(word, text, { maxKeys: 3 }),
      headers: fc.record({ cacheControl: text, contentLanguage: text, expires: text }, { requiredKeys: [] }),
      checksum: fc.boolean(),
      sha: fc.option(sha256, { nil: null }),
      parts: fc.option(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 4 }), { nil: null }),
      lastModified: fc.date({ min: new Date('1990-01-01T00:00:00.000Z'), max: new Date('2100-01-01T00:00:00.000Z'), noInvalidDate: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'delete' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), backend: fc.constantFrom(...backends) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const), nth: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), nth: fc.nat(3), to: fc.constantFrom(...backends) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), backend: fc.constantFrom(...backends), purge: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('check' as const), nth: fc.nat(3), corrupt: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repair' as const), nth: fc.nat(3), to: fc.constantFrom(...backends) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('backfill' as const), sha: sha256 }) },
);

const at = (state: ObjectState, nth: number): StoredCopy | undefined => {
  const copies = state.current?.copies ?? [];
  return copies[nth % Math.max(1, copies.length)];
};

/** The command a step means on `state` (undefined when it means nothing there). */
export function commandFor(s: Step, state: ObjectState): ObjectCommand | undefined {
  const writeId = state.current?.writeId ?? '';
  switch (s.op) {
    case 'write': {
      const w = ulid();
      return {
        type: 'Write', ids,
        version: {
          writeId: w, size: s.size, etag: `etag-${w}`, contentType: s.contentType, metadata: s.metadata, headers: s.headers,
          checksum: s.checksum ? { algorithm: 'CRC32', value: 'AAAAAA==' } : null,
          contentSha256: s.sha,
          parts: s.parts ? s.parts.map((size, i) => ({ partNumber: i + 1, size })) : null,
          lastModified: s.lastModified.toISOString(),
          copies: s.on.map((backend) => ({ backend, storageKey: `prop/${state.key}~${w}@${backend}`, size: s.size })),
          origin: s.parts ? 'multipart' : 'put',
          encryption: null,
        },
      };
    }
    case 'delete':
      return { type: 'Delete', reason: 'client', ids };
    case 'add':
      return state.current && { type: 'AddReplica', writeId, copy: { backend: s.backend, storageKey: `prop/${state.key}~${writeId}-r@${s.backend}`, size: state.current.size } };
    case 'drop': {
      const copy = at(state, s.nth);
      return copy && { type: 'DropReplica', writeId, copy, reason: 'over-replication', reclaim: true, ids };
    }
    case 'move': {
      const from = at(state, s.nth);
      return from && { type: 'MoveCopy', writeId, from, to: { ...from, backend: s.to, storageKey: `prop/${state.key}~${writeId}-m@${s.to}` }, jobId: 'J', moveId: ulid(), ids };
    }
    case 'remove':
      return { type: 'RemoveBackendCopy', writeId, backend: s.backend, purge: s.purge, jobId: 'J', ids };
    case 'check': {
      const copy = at(state, s.nth);
      const corrupt = s.corrupt ? { corrupt: { reason: 'missing' as const, expectedSha256: 'e'.repeat(64), actualSha256: null } } : {};
      return copy && { type: 'RecordCheck', writeId, copy, component: 'scrub', ...corrupt };
    }
    case 'repair': {
      const from = state.current?.corrupt?.[s.nth % state.current.corrupt.length];
      const copy = state.current?.copies.find((c) => c.backend === from);
      const source = state.current?.copies.find((c) => !state.current?.corrupt?.includes(c.backend));
      return copy && source && { type: 'RepairCopy', writeId, from: copy, to: { ...copy, backend: s.to, storageKey: `prop/${state.key}~${writeId}-p@${s.to}` }, source: source.backend, ids };
    }
    case 'backfill': {
      const parts = state.current?.parts?.map((p) => ({ partNumber: p.partNumber, sha256: s.sha })) ?? null;
      return { type: 'BackfillChecksum', writeId, contentSha256: parts ? `${s.sha}-${parts.length}` : s.sha, parts };
    }
  }
}
