import type { HeldLease } from './leases.js';

/**
 * Walks a keyset-paged query under a held lease: `next(after)` reads the page after the last row
 * of the previous one (`undefined` for the first), `work` handles it. The walk ends after a
 * short page (true), or after a page at whose end the lease was lost (false).
 */
export async function forEachPage<R>(
  held: HeldLease,
  pageSize: number,
  next: (after: R | undefined) => Promise<readonly R[]>,
  work: (page: readonly R[]) => Promise<void>,
): Promise<boolean> {
  let after: R | undefined;
  for (;;) {
    const page = await next(after);
    await work(page);
    if (page.length < pageSize) return true;
    if (held.lost) return false;
    after = page[page.length - 1];
  }
}
