import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, IdempotencyConflictError } from '../../domain/eventstore/errors.js';
import { comparePositions, type EventStore } from '../../domain/eventstore/port.js';
import { testEvent } from '../support/store.js';

export interface EventStoreFixture {
  store: EventStore;
  close(): Promise<void>;
}

const stream = (p = 'test') => `${p}-${randomUUID()}`;
/** Longer than an adapter's read page is set to be in its contract run, so uncapped reads must page. */
const longStream = 2345;

/**
 * The behaviour every EventStore adapter must have. Run it from an adapter's test file, with the
 * adapter reading streams in pages shorter than 2,345 events (so an uncapped read crosses pages).
 */
export function runEventStoreContract(name: string, makeFixture: () => Promise<EventStoreFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let fx: EventStoreFixture;
    let store: EventStore;
    beforeAll(async () => {
      fx = await makeFixture();
      store = fx.store;
    });
    afterAll(async () => fx.close());

    describe('appendToStream', () => {
      it('starts a stream at revision 0 and counts revisions from there', async () => {
        const s = stream();
        const a = await store.appendToStream(s, [testEvent()], { expected: 'no_stream' });
        expect(a.nextRevision).toBe(0n);
        const b = await store.appendToStream(s, [testEvent(), testEvent()], { expected: 0n });
        expect(b.nextRevision).toBe(2n);
        expect(comparePositions(b.position, a.position)).toBeGreaterThan(0);
      });

      it('rejects no_stream when the stream exists, reporting the real revision', async () => {
        const s = stream();
        await store.appendToStream(s, [testEvent(), testEvent()], { expected: 'no_stream' });
        const err = await store.appendToStream(s, [testEvent()], { expected: 'no_stream' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrencyError);
        expect((err as ConcurrencyError).actual).toBe(1n);
        expect((err as ConcurrencyError).expected).toBe('no_stream');
      });

      it('rejects stream_exists on a missing stream and accepts it on an existing one', async () => {
        const s = stream();
        const err = await store.appendToStream(s, [testEvent()], { expected: 'stream_exists' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrencyError);
        expect((err as ConcurrencyError).actual).toBe('no_stream');
        await store.appendToStream(s, [testEvent()], { expected: 'any' });
        const ok = await store.appendToStream(s, [testEvent()], { expected: 'stream_exists' });
        expect(ok.nextRevision).toBe(1n);
      });

      it('rejects a stale expected revision with the actual one', async () => {
        const s = stream();
        await store.appendToStream(s, [testEvent(), testEvent(), testEvent()], { expected: 'no_stream' });
        const err = await store.appendToStream(s, [testEvent()], { expected: 0n }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrencyError);
        expect((err as ConcurrencyError).actual).toBe(2n);
        const missing = await store.appendToStream(stream(), [testEvent()], { expected: 5n }).catch((e: unknown) => e);
        expect((missing as ConcurrencyError).actual).toBe('no_stream');
      });

      it('appends with any whatever the revision', async () => {
        const s = stream();
        expect((await store.appendToStream(s, [testEvent()], { expected: 'any' })).nextRevision).toBe(0n);
        expect((await store.appendToStream(s, [testEvent()], { expected: 'any' })).nextRevision).toBe(1n);
      });

      it('treats a retried append with the same event ids as a no-op, in every mode', async () => {
        for (const mode of ['any', 'no_stream', 'revision'] as const) {
          const s = stream();
          if (mode === 'revision') await store.appendToStream(s, [testEvent()], { expected: 'no_stream' });
          const events = [testEvent(), testEvent()];
          const expected = mode === 'revision' ? 0n : mode;
          const first = await store.appendToStream(s, events, { expected });
          const retry = await store.appendToStream(s, events, { expected });
          expect(retry.alreadyAppended).toBe(true);
          expect(first.alreadyAppended).toBe(false);
          expect(retry.nextRevision).toBe(first.nextRevision);
          expect(retry.position).toBe(first.position);
          const read = await store.readStream(s);
          expect(read.events).toHaveLength(mode === 'revision' ? 3 : 2);
        }
      });

      it('refuses a retry that repeats only some of the event ids', async () => {
        const s = stream();
        const e1 = testEvent();
        await store.appendToStream(s, [e1], { expected: 'any' });
        const err = await store.appendToStream(s, [e1, testEvent()], { expected: 'any' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IdempotencyConflictError);
        expect((await store.readStream(s)).events).toHaveLength(1);
      });

      it('lets exactly one of many concurrent writers with the same expected revision win', async () => {
        const s = stream();
        await store.appendToStream(s, [testEvent()], { expected: 'no_stream' });
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.appendToStream(s, [testEvent()], { expected: 0n })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') {
            expect(r.reason).toBeInstanceOf(ConcurrencyError);
            expect((r.reason as ConcurrencyError).actual).toBe(1n);
          }
        }
      });

      it('lets exactly one of many concurrent creators win with no_stream', async () => {
        const s = stream();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.appendToStream(s, [testEvent()], { expected: 'no_stream' })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.readStream(s)).events).toHaveLength(1);
      });

      it('gives concurrent any-appends distinct consecutive revisions', async () => {
        const s = stream();
        const results = await Promise.all(Array.from({ length: 30 }, () => store.appendToStream(s, [testEvent()], { expected: 'any' })));
        expect(new Set(results.map((r) => r.nextRevision)).size).toBe(30);
        const read = await store.readStream(s);
        expect(read.events.map((e) => e.revision)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
      });
    });

    describe('appendToStreams', () => {
      it('writes several streams atomically, or nothing when one expectation fails', async () => {
        const a = stream();
        const b = stream();
        await store.appendToStream(b, [testEvent()], { expected: 'no_stream' });
        const err = await store
          .appendToStreams([
            { streamId: a, events: [testEvent()], expected: 'no_stream' },
            { streamId: b, events: [testEvent()], expected: 'no_stream' },
          ])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrencyError);
        expect((await store.readStream(a)).revision).toBe('no_stream');
        const ok = await store.appendToStreams([
          { streamId: a, events: [testEvent()], expected: 'no_stream' },
          { streamId: b, events: [testEvent()], expected: 0n },
        ]);
        expect(ok.map((r) => r.nextRevision)).toEqual([0n, 1n]);
      });
    });

    describe('readStream', () => {
      it('returns no_stream for a missing stream', async () => {
        expect(await store.readStream(stream())).toEqual({ revision: 'no_stream', events: [] });
      });

      it('returns events in revision order with data and metadata intact', async () => {
        const s = stream();
        const data = { text: 'ünïcödé ✓ 😀 "quoted" \\ back', n: 12345678901, nested: { list: [1, null, 'x'] } };
        const ev = testEvent('TestEvent', data);
        await store.appendToStream(s, [ev, testEvent('OtherEvent')], { expected: 'no_stream' });
        const read = await store.readStream(s);
        expect(read.revision).toBe(1n);
        expect(read.events.map((e) => e.type)).toEqual(['TestEvent', 'OtherEvent']);
        const first = read.events[0];
        expect(first?.id).toBe(ev.id);
        expect(first?.data).toEqual(data);
        expect(first?.metadata).toEqual(ev.metadata);
        expect(first?.streamId).toBe(s);
      });

      it('reads from a revision and up to a count', async () => {
        const s = stream();
        await store.appendToStream(s, Array.from({ length: 5 }, () => testEvent()), { expected: 'no_stream' });
        const read = await store.readStream(s, { fromRevision: 2n, maxCount: 2 });
        expect(read.events.map((e) => e.revision)).toEqual([2n, 3n]);
        expect(read.revision).toBe(4n);
      });

      it('reads every event of a stream longer than any page when no count is given', async () => {
        const s = stream();
        for (let i = 0; i < longStream; i += 500) {
          await store.appendToStream(s, Array.from({ length: Math.min(500, longStream - i) }, () => testEvent()), { expected: 'any' });
        }
        const all = await store.readStream(s);
        expect(all.events).toHaveLength(longStream);
        expect(all.events.every((e, i) => e.revision === BigInt(i))).toBe(true);
        expect(all.revision).toBe(BigInt(longStream - 1));
        const rest = await store.readStream(s, { fromRevision: 7n });
        expect(rest.events).toHaveLength(longStream - 7);
        expect(rest.events[0]?.revision).toBe(7n);
      });

      it('reads backwards, newest first, from the end or from a revision, up to a count or to the start', async () => {
        const s = stream();
        const ids = Array.from({ length: 6 }, () => testEvent());
        await store.appendToStream(s, ids, { expected: 'no_stream' });
        const newest = await store.readStream(s, { direction: 'backwards', maxCount: 2 });
        expect(newest.events.map((e) => e.revision)).toEqual([5n, 4n]);
        expect(newest.events.map((e) => e.id)).toEqual([ids[5]?.id, ids[4]?.id]);
        expect(newest.revision).toBe(5n);
        const older = await store.readStream(s, { direction: 'backwards', fromRevision: 3n, maxCount: 10 });
        expect(older.events.map((e) => e.revision)).toEqual([3n, 2n, 1n, 0n]);
        expect((await store.readStream(s, { direction: 'backwards' })).events.map((e) => e.revision)).toEqual([5n, 4n, 3n, 2n, 1n, 0n]);
        expect(await store.readStream(stream(), { direction: 'backwards', maxCount: 5 })).toEqual({ revision: 'no_stream', events: [] });
      });

      it('reads a long stream backwards without a count, page after page', async () => {
        const s = stream();
        for (let i = 0; i < longStream; i += 500) {
          await store.appendToStream(s, Array.from({ length: Math.min(500, longStream - i) }, () => testEvent()), { expected: 'any' });
        }
        const all = await store.readStream(s, { direction: 'backwards' });
        expect(all.events).toHaveLength(longStream);
        expect(all.events.every((e, i) => e.revision === BigInt(longStream - 1 - i))).toBe(true);
      });
    });

    describe('readAll and headPosition', () => {
      it('returns every appended event once, in position order, page by page', async () => {
        const prefix = `page${randomUUID().slice(0, 8)}`;
        const before = await store.headPosition();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          const ev = testEvent('PagedEvent');
          ids.push(ev.id);
          await store.appendToStream(`${prefix}-${i % 3}`, [ev], { expected: 'any' });
        }
        const seen: string[] = [];
        let after = before;
        // A transaction elsewhere on the server may hold the gap-safe horizon back, for seconds under
        // load: the deadline only bounds the wait for the events to become readable.
        const deadline = Date.now() + 45_000;
        while (seen.length < ids.length && Date.now() < deadline) {
          const page = await store.readAll({ after, limit: 3, filter: { streamPrefixes: [`${prefix}-`] } });
          seen.push(...page.events.map((e) => e.id));
          for (let i = 1; i < page.events.length; i++) {
            expect(comparePositions(page.events[i - 1]!.position, page.events[i]!.position)).toBeLessThan(0);
          }
          after = page.last;
          if (page.events.length === 0) await new Promise((r) => setTimeout(r, 25));
        }
        expect(seen).toEqual(ids);
        const head = await store.headPosition();
        expect(head).toBeDefined();
        if (before && head) expect(comparePositions(head, before)).toBeGreaterThan(0);
      });

      it('filters by event type', async () => {
        const before = await store.headPosition();
        const s = stream('typed');
        const wanted = testEvent(`Wanted${randomUUID().slice(0, 6)}`);
        await store.appendToStream(s, [testEvent('Unwanted'), wanted, testEvent('Unwanted')], { expected: 'no_stream' });
        await expect.poll(async () => (await store.readAll({ after: before, limit: 100, filter: { types: [wanted.type] } })).events.map((e) => e.id))
          .toEqual([wanted.id]);
      });
    });
  });
}
