import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { isDomainError } from '../../domain/errors.js';
import { encodeEvent } from '../../domain/events/codec.js';
import type { EventData, EventType } from '../../domain/events/catalog.js';
import type { EventStore, NewEvent } from '../../domain/eventstore/port.js';
import { decideObject } from '../../domain/objects/object-decider.js';
import { evolveObject, initialObjectState, objectStreamId, type ObjectState } from '../../domain/objects/object-state.js';
import { commandFor, type Step } from './object-histories.js';

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

/**
 * The events a random history's step (`object-histories.ts`) decides against `state`, as the
 * gateway would decide them; none for a step with no command, one the decider refuses as a
 * conflict, or one that decides nothing.
 */
export function eventsForStep(s: Step, state: ObjectState): ReturnType<typeof decideObject> {
  const command = commandFor(s, state);
  if (!command) return [];
  try {
    return decideObject(command, state);
  } catch (err) {
    if (isDomainError(err) && err.code === 'Conflict') return [];
    throw err;
  }
}

/** Appends a random history to one object's stream step by step; `afterAppend` sees the state after each append. */
export async function appendHistory(
  store: EventStore, bucket: string, key: string, steps: readonly Step[], afterAppend?: (state: ObjectState) => Promise<void>,
): Promise<ObjectState> {
  let folded = initialObjectState(bucket, key);
  for (const s of steps) {
    const events = eventsForStep(s, folded);
    if (events.length === 0) continue;
    await store.appendToStream(objectStreamId(bucket, key), events.map((e) => newEvent(e.type, e.data)), { expected: folded.revision });
    folded = events.reduce(evolveObject, folded);
    await afterAppend?.(folded);
  }
  return folded;
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
