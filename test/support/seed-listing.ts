import type pg from 'pg';
import { ulid } from 'ulid';
import type { StreamAppend } from '../../domain/eventstore/port.js';
import { objectStreamId } from '../../domain/objects/object-state.js';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { newEvent } from './object-events.js';
import { md5Hex } from './s3-e2e.js';

/**
 * Keys appended as client writes to `bucket` (ObjectWritten, body = key, one copy on `backend`)
 * through the real append path and its inline projections, 500 to a transaction. For listings
 * only: a listing reads the objects projection, the bytes are not on the backend, and thousands
 * of PUTs through the gateway took minutes on a busy machine without testing more of it.
 * `storeBytes` puts each batch's bodies on the backend first, for a test that needs them there.
 */
export async function seedListedKeys(
  pool: pg.Pool, keys: readonly string[],
  opts: { bucket?: string; backend?: string; storeBytes?: (copies: { key: string; storageKey: string }[]) => Promise<void> } = {},
): Promise<void> {
  const { bucket = 'alpha', backend = 'b1' } = opts;
  const store = new PostgresEventStore(pool);
  for (let start = 0; start < keys.length; start += 500) {
    const batch = keys.slice(start, start + 500).map((key) => {
      const writeId = ulid();
      return { key, writeId, storageKey: `${bucket}/${key}~${writeId}` };
    });
    await opts.storeBytes?.(batch);
    const appends: StreamAppend[] = batch.map(({ key, writeId, storageKey }) => {
      return {
        streamId: objectStreamId(bucket, key),
        expected: 'no_stream',
        events: [newEvent('ObjectWritten', {
          bucket, key, writeId, size: key.length, previousSize: null, etag: md5Hex(key), contentType: 'application/octet-stream',
          metadata: {}, headers: {}, checksum: null, contentSha256: null, encryption: null, parts: null, lastModified: new Date().toISOString(),
          copies: [{ backend, storageKey, size: key.length }], displaced: [], origin: 'put',
        })],
      };
    });
    await store.appendToStreams(appends);
  }
}
