import type { ObjectState } from '../../domain/objects/object-state.js';
import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';
import { loadObject, loadObjects } from '../../projections/read/object-reads.js';

interface Waiting {
  bucket: string;
  key: string;
  resolve(state: ObjectState): void;
  reject(err: unknown): void;
}

/** More keys than this go as several statements. */
const maxKeysPerStatement = 256;

/**
 * Loads objects asked for within one event-loop turn with one statement: a job's moves start in
 * bursts (a group commit answers many at once), and each load alone was a round trip of its own.
 * Each state is what `loadObject` would have read at that moment.
 */
export class ObjectLoadBatcher {
  private waiting: Waiting[] = [];

  constructor(private readonly db: Queryable) {}

  load(bucket: string, key: string): Promise<ObjectState> {
    return new Promise<ObjectState>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ bucket, key, resolve, reject });
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += maxKeysPerStatement) {
      const chunk = all.slice(i, i + maxKeysPerStatement);
      const only = chunk.length === 1 ? chunk[0] : undefined;
      const states = only ? loadObject(this.db, only.bucket, only.key).then((s) => [s]) : loadObjects(this.db, chunk);
      states.then(
        (loaded) => chunk.forEach((w, j) => w.resolve(loaded[j] as ObjectState)),
        (err: unknown) => chunk.forEach((w) => w.reject(err)),
      );
    }
  }
}
