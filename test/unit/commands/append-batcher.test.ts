import { describe, expect, it } from 'vitest';
import type { AppendResult, Position, StreamAppend } from '../../../domain/eventstore/port.js';
import { AppendBatcher } from '../../../services/commands/append-batcher.js';

function closing(id: string, eventId = `00000000-0000-4000-8000-${id.padStart(12, '0')}`): StreamAppend {
  return {
    streamId: `cleanup-${id}`,
    expected: 'any',
    events: [{ id: eventId, type: 'CleanupSucceeded', schemaVersion: 1, data: {}, metadata: { actor: 'system:test' } } as unknown as StreamAppend['events'][number]],
  };
}

/** A store whose appends wait until the test lets them commit, refusing any append that names a stream in `refused`. */
function heldStore(refused: ReadonlySet<string> = new Set()) {
  const calls: string[][] = [];
  const pending: (() => void)[] = [];
  return {
    calls,
    commitAll: () => pending.splice(0).forEach((commit) => commit()),
    appendToStreams: (appends: readonly StreamAppend[]): Promise<AppendResult[]> => {
      calls.push(appends.map((a) => a.streamId));
      return new Promise((resolve, reject) => pending.push(() => {
        const bad = appends.find((a) => refused.has(a.streamId));
        if (bad) reject(new Error(`refused ${bad.streamId}`));
        else resolve(appends.map((a) => ({ streamId: a.streamId, nextRevision: 0n, position: 'p' as Position, alreadyAppended: false })));
      }));
    },
  };
}

const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('AppendBatcher', () => {
  it('appends what is recorded in one turn together, and what is recorded while that commits together next', async () => {
    const store = heldStore();
    const batcher = new AppendBatcher(store);
    const first = [batcher.record(closing('1')), batcher.record(closing('2'))];
    await turns();
    expect(store.calls).toEqual([['cleanup-1', 'cleanup-2']]);
    const next = [batcher.record(closing('3')), batcher.record(closing('4')), batcher.record(closing('5'))];
    await turns();
    // Nothing new goes while the first append commits.
    expect(store.calls).toHaveLength(1);
    store.commitAll();
    await Promise.all(first);
    await turns();
    expect(store.calls).toEqual([['cleanup-1', 'cleanup-2'], ['cleanup-3', 'cleanup-4', 'cleanup-5']]);
    store.commitAll();
    await Promise.all(next);
  });

  it('never puts two appends to one stream in one batch', async () => {
    const store = heldStore();
    const batcher = new AppendBatcher(store);
    const done = [batcher.record(closing('1')), batcher.record(closing('1', '00000000-0000-4000-8000-0000000000aa')), batcher.record(closing('2'))];
    await turns();
    expect(store.calls).toEqual([['cleanup-1']]);
    store.commitAll();
    await turns();
    expect(store.calls).toEqual([['cleanup-1'], ['cleanup-1', 'cleanup-2']]);
    store.commitAll();
    await Promise.all(done);
  });

  it('when a batch fails, tries each append again alone: only the refused one fails', async () => {
    const store = heldStore(new Set(['cleanup-2']));
    const batcher = new AppendBatcher(store);
    const outcomes = Promise.allSettled([batcher.record(closing('1')), batcher.record(closing('2')), batcher.record(closing('3'))]);
    await turns();
    store.commitAll();
    await turns();
    expect(store.calls.slice(1).sort()).toEqual([['cleanup-1'], ['cleanup-2'], ['cleanup-3']]);
    store.commitAll();
    const settled = await outcomes;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
