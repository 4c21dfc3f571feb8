import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { encodeEvent } from '../../domain/events/codec.js';
import type { EventData, EventType } from '../../domain/events/catalog.js';
import type { EventStore, NewEvent } from '../../domain/eventstore/port.js';
import { decideObject } from '../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';

export const ids = { cleanupId: () => ulid() };

export function newEvent<T extends EventType>(type: T, data: EventData<T>, at = new Date().toISOString()): NewEvent {
  const enc = encodeEvent(type, data);
  return { id: randomUUID(), type: enc.type, schemaVersion: enc.schemaVersion, data: enc.data, metadata: { actor: 'test', at } };
}

export async function registerBackend(store: EventStore, backend: string, quotaBytes: number): Promise<void> {
  await store.appendToStream(
    `backend-${backend}`,
    [newEvent('BackendRegistered', {
      backend, endpoint: 'http://127.0.0.1:1', bucket: 'b', region: 'us-east-1',
      limits: { quotaBytes, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
    })],
    { expected: 'no_stream' },
  );
}

/** Tracks object states in memory so tests can write, overwrite and delete like the gateway. */
export class ObjectWriter {
  private states = new Map<string, ObjectState>();
  constructor(private readonly store: EventStore) {}

  state(bucket: string, key: string): ObjectState {
    return this.states.get(`${bucket}/${key}`) ?? initialObjectState(bucket, key);
  }

  async write(bucket: string, key: string, size: number, backends: string[]): Promise<ObjectState> {
    const writeId = ulid();
    return this.decide(bucket, key, {
      type: 'Write',
      ids,
      version: {
        writeId, size, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'application/octet-stream', metadata: {},
        headers: {}, checksum: null, contentSha256: null, parts: null, lastModified: new Date().toISOString(),
        copies: backends.map((b) => ({ backend: b, storageKey: `${bucket}/${key}~${writeId}`, size })), origin: 'put', encryption: null,
      },
    });
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.decide(bucket, key, { type: 'Delete', reason: 'client', ids });
  }

  private async decide(bucket: string, key: string, command: Parameters<typeof decideObject>[0]): Promise<ObjectState> {
    const state = this.state(bucket, key);
    const events = decideObject(command, state);
    if (events.length === 0) return state;
    await this.store.appendToStream(objectStreamId(bucket, key), events.map((e) => newEvent(e.type, e.data)), { expected: state.revision });
    const next = events.reduce(evolveObject, state);
    this.states.set(`${bucket}/${key}`, next);
    return next;
  }
}
