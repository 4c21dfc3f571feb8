import type { Readable, Writable } from 'node:stream';

/**
 * `source.pipe(target)` with errors and early closes passed on both ways, as `stream.pipeline`
 * does, without pipeline's per-call cost: it makes an AbortController and aborts it when the
 * streams are done, which builds a DOMException with a captured stack — a visible share of a
 * 4 KiB encrypted request's time. Returns `target`, so relays chain.
 */
export function relay<T extends Writable>(source: Readable, target: T): T {
  source.pipe(target);
  source.once('error', (err) => target.destroy(err));
  target.once('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy(target.errored ?? undefined);
  });
  return target;
}
