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
 */
export async function seedListedKeys(pool: pg.Pool, keys: readonly string[], bucket = 'alpha', backend = 'b1'): Promise<void> {
  const store = new PostgresEventStore(pool);
  for (let start = 0; start < keys.length; start += 500) {
    const appends: StreamAppend[] = keys.slice(start, start + 500).map((key) => {
      const writeId = ulid();
      return {
        streamId: objectStreamId(bucket, key),
        expected: 'no_stream',
        events: [newEvent('ObjectWritten', {
          bucket, key, writeId, size: key.length, previousSize: null, etag: md5Hex(key), contentType: 'application/octet-stream',
          metadata: {}, headers: {}, checksum: null, contentSha256: null, encryption: null, parts: null, lastModified: new Date().toISOString(),
          copies: [{ backend, storageKey: `${bucket}/${key}~${writeId}`, size: key.length }], displaced: [], origin: 'put',
        })],
      };
    });
    await store.appendToStreams(appends);
  }
}
