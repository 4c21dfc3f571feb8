import type { EventStore, StreamAppend } from '../../domain/eventstore/port.js';

interface Waiting {
  append: StreamAppend;
  resolve(): void;
  reject(err: unknown): void;
}

/** Appends per transaction at most; more wait for the next. */
const maxBatch = 64;

/**
 * Appends to distinct streams that need no outcome but success or failure (each expecting
 * `any`, with a deterministic event id, e.g. a cleanup item closed): those recorded while one
 * append commits go together as the next one, one multi-stream append instead of one append
 * each. The group commit would put them in one transaction anyway, but each as its own
 * subtransaction and inline-projection call; here they are one.
 *
 * When a batch fails, each of its appends is tried again alone (appends are idempotent by event
 * id), so one bad append never fails the others.
 */
export class AppendBatcher {
  private readonly waiting: Waiting[] = [];
  private flushing = false;

  constructor(private readonly store: Pick<EventStore, 'appendToStreams'>) {}

  record(append: StreamAppend): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ append, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      // A turn later, so appends recorded in the same turn go in the first batch too.
      queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.appendBatch(takeBatch(this.waiting));
    } finally {
      this.flushing = false;
    }
  }

  private async appendBatch(batch: readonly Waiting[]): Promise<void> {
    try {
      await this.store.appendToStreams(batch.map((w) => w.append));
      for (const w of batch) w.resolve();
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
    }
    await Promise.all(batch.map(async (w) => {
      try {
        await this.store.appendToStreams([w.append]);
        w.resolve();
      } catch (err) {
        w.reject(err);
      }
    }));
  }
}

/** Up to `maxBatch` appends, in order, stopping before a second append to a stream already in the batch. */
function takeBatch(waiting: Waiting[]): Waiting[] {
  const streams = new Set<string>();
  let n = 0;
  for (const w of waiting) {
    if (n === maxBatch || streams.has(w.append.streamId)) break;
    streams.add(w.append.streamId);
    n++;
  }
  return waiting.splice(0, n);
}
