import { describe, expect, it } from 'vitest';
import type { AppendResult, Position, StreamAppend } from '../../../domain/eventstore/port.js';
import { decideObject } from '../../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../../domain/objects/object-state.js';
import { ObjectStateCache } from '../../../services/objects/object-state-cache.js';
import { ids, newEvent } from '../../support/object-events.js';

/** Decides a write of `writeId` on `state` the way the gateway does: the append and its committed result. */
function write(state: ObjectState, writeId: string): { append: StreamAppend; result: AppendResult; after: ObjectState } {
  const events = decideObject({
    type: 'Write', ids,
    version: {
      writeId, size: 4, etag: 'e', contentType: 'text/plain', metadata: {}, headers: {}, checksum: null, contentSha256: null, parts: null,
      lastModified: '2026-01-01T00:00:00.000Z', copies: [{ backend: 'b1', storageKey: `${state.bucket}/${state.key}~${writeId}`, size: 4 }],
      origin: 'put', encryption: null,
    },
  }, state);
  const after = events.reduce(evolveObject, state);
  const streamId = objectStreamId(state.bucket, state.key);
  return {
    append: { streamId, expected: state.revision, events: events.map((e) => newEvent(e.type, e.data)) },
    result: { streamId, nextRevision: after.revision as bigint, position: '' as Position, alreadyAppended: false },
    after,
  };
}

const fromDb = (state: ObjectState) => () => Promise.resolve(state);
const never = () => Promise.reject(new Error('the database was asked'));

describe('ObjectStateCache', () => {
  it('a committed first write is served from memory, folded exactly like the stream', async () => {
    const cache = new ObjectStateCache(10);
    const w = write(initialObjectState('bk', 'a'), 'w1');
    cache.appended([w.result], [w.append]);
    expect(await cache.load('bk', 'a', never)).toEqual(w.after);
  });

  it('an overwrite replaces the cached state before the writer is answered', async () => {
    const cache = new ObjectStateCache(10);
    const first = write(initialObjectState('bk', 'a'), 'w1');
    cache.appended([first.result], [first.append]);
    const second = write(first.after, 'w2');
    cache.appended([second.result], [second.append]);
    const served = await cache.load('bk', 'a', never);
    expect(served.current?.writeId).toBe('w2');
    expect(served.revision).toBe(1n);
  });

  it('an append that does not follow the cached revision, a retry or a failure forgets the key', async () => {
    const cache = new ObjectStateCache(10);
    const first = write(initialObjectState('bk', 'a'), 'w1');
    cache.appended([first.result], [first.append]);
    const skipped = write({ ...first.after, revision: 5n }, 'w3');
    cache.appended([skipped.result], [skipped.append]);
    expect((await cache.load('bk', 'a', fromDb(skipped.after))).current?.writeId).toBe('w3');

    const again = write(skipped.after, 'w4');
    cache.appended([{ ...again.result, alreadyAppended: true }], [again.append]);
    await expect(cache.load('bk', 'a', never)).rejects.toThrow('the database was asked');

    cache.appended([again.result], [again.append]);
    cache.failed([again.append]);
    await expect(cache.load('bk', 'a', never)).rejects.toThrow('the database was asked');
  });

  it('a database load that raced a commit of its key is answered but not kept', async () => {
    const cache = new ObjectStateCache(10);
    const old = write(initialObjectState('bk', 'a'), 'w1');
    const newer = write(old.after, 'w2');
    let release!: () => void;
    const loading = cache.load('bk', 'a', () => new Promise((done) => { release = () => done(old.after); }));
    cache.appended([newer.result], [newer.append]);
    release();
    expect((await loading).current?.writeId).toBe('w1');
    expect((await cache.load('bk', 'a', fromDb(newer.after))).current?.writeId).toBe('w2');
    expect((await cache.load('bk', 'a', never)).current?.writeId).toBe('w2');
  });

  it('a missing key is never cached: the database is asked every time', async () => {
    const cache = new ObjectStateCache(10);
    await cache.load('bk', 'gone', fromDb(initialObjectState('bk', 'gone')));
    await expect(cache.load('bk', 'gone', never)).rejects.toThrow('the database was asked');
  });

  it('a delete forgets the key', async () => {
    const cache = new ObjectStateCache(10);
    const w = write(initialObjectState('bk', 'a'), 'w1');
    cache.appended([w.result], [w.append]);
    const events = decideObject({ type: 'Delete', reason: 'client', ids }, w.after);
    const after = events.reduce(evolveObject, w.after);
    cache.appended(
      [{ ...w.result, nextRevision: after.revision as bigint }],
      [{ streamId: w.append.streamId, expected: w.after.revision, events: events.map((e) => newEvent(e.type, e.data)) }],
    );
    await expect(cache.load('bk', 'a', never)).rejects.toThrow('the database was asked');
  });
});
