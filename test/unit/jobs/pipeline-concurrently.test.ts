import { describe, expect, it } from 'vitest';
import { pipelineConcurrently, pipelinePages } from '../../../processes/jobs/job-driver.js';

/** A promise settled from outside, so a test decides when each step ends. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('pipelineConcurrently', () => {
  it('runs the second step over every first result in the items\' order, skipping undefined', async () => {
    const seen: number[] = [];
    await pipelineConcurrently([1, 2, 3, 4, 5], 2, 1, async (n) => (n === 3 ? undefined : n * 10), async (r) => {
      seen.push(r);
    });
    expect(seen).toEqual([10, 20, 40, 50]);
  });

  it('runs first steps of later items while earlier items are in their second step, each step within its limit', async () => {
    const copying = gate();
    const firsts: number[] = [];
    let thensRunning = 0;
    let maxThens = 0;
    const done = pipelineConcurrently([1, 2, 3, 4], 2, 1, async (n) => {
      firsts.push(n);
      return n;
    }, async () => {
      thensRunning++;
      maxThens = Math.max(maxThens, thensRunning);
      await copying.promise;
      thensRunning--;
    });
    await turns();
    // The one second step in hand is held; every first step has run meanwhile.
    expect(firsts).toEqual([1, 2, 3, 4]);
    expect(thensRunning).toBe(1);
    copying.open();
    await done;
    expect(maxThens).toBe(1);
  });

  it('after a first step fails, starts nothing new, lets the steps in hand settle and throws that error', async () => {
    const held = gate();
    const thens: number[] = [];
    const done = pipelineConcurrently([1, 2, 3, 4, 5], 1, 2, async (n) => {
      if (n === 2) throw new Error('read failed');
      return n;
    }, async (r) => {
      await held.promise;
      thens.push(r);
    });
    await turns();
    held.open();
    await expect(done).rejects.toThrow('read failed');
    expect(thens).toEqual([1]);
  });

  it('after a second step fails, starts no further step and throws that error', async () => {
    const firsts: number[] = [];
    const thens: number[] = [];
    await expect(pipelineConcurrently([1, 2, 3, 4, 5, 6], 1, 1, async (n) => {
      firsts.push(n);
      await turns(1);
      return n;
    }, async (r) => {
      thens.push(r);
      if (r === 1) throw new Error('commit failed');
    })).rejects.toThrow('commit failed');
    expect(thens).toEqual([1]);
    expect(firsts.length).toBeLessThan(6);
  });
});

describe('pipelinePages', () => {
  it('asks for the next page once the first steps have taken every item in hand, while earlier items are still in their second step', async () => {
    const pages = [[1, 2], [3, 4], [5]];
    const asked: number[] = [];
    const held = gate();
    const thens: number[] = [];
    const done = pipelinePages(async () => {
      asked.push(thens.length);
      return pages.shift() ?? [];
    }, 4, 1, async (n) => n, async (r) => {
      if (r === 1) await held.promise;
      thens.push(r);
    });
    await turns();
    // Item 1's second step is held; every page was read meanwhile (4 results waiting at most).
    expect(thens).toEqual([]);
    expect(asked).toEqual([0, 0, 0]);
    held.open();
    await done;
    expect(thens).toEqual([1, 2, 3, 4, 5]);
    // The empty page that ends the items was asked for once fewer than 4 results waited.
    expect(asked).toHaveLength(4);
  });

  it('reads no further page while `ahead` first results wait for their second step', async () => {
    const held = gate();
    let pagesRead = 0;
    const done = pipelinePages(async () => {
      pagesRead++;
      return pagesRead <= 3 ? [pagesRead * 10, pagesRead * 10 + 1] : [];
    }, 2, 1, async (n) => n, async () => held.promise);
    await turns();
    // Page 1's first item is in its second step, its second waits; page 2's two wait too: 3 >= 2.
    expect(pagesRead).toBe(2);
    held.open();
    await done;
    expect(pagesRead).toBe(4);
  });

  it('throws the error of a page that could not be read, after the steps in hand have settled', async () => {
    const thens: number[] = [];
    let pagesRead = 0;
    await expect(pipelinePages(async () => {
      if (pagesRead++ > 0) throw new Error('listing failed');
      return [1, 2];
    }, 2, 1, async (n) => n, async (r) => {
      thens.push(r);
    })).rejects.toThrow('listing failed');
    expect(thens).toEqual([1, 2]);
  });
});
