import { createHash, randomUUID } from 'node:crypto';
import { encodeEvent } from '../domain/events/codec.js';
import type { DomainEvent, EventData, EventType } from '../domain/events/catalog.js';
import type { EventMetadata, NewEvent } from '../domain/eventstore/port.js';
import { newUlid } from '../infra/ids.js';

/** Who and what caused a change: recorded as event metadata. */
export interface Cause {
  actor: string;
  correlationId?: string;
  causationId?: string;
}

/** The cause of one pass of a system worker: actor `system:<worker>`, correlated `<worker>-<ULID of the pass's start>`. */
export function workerPassCause(worker: string, at: Date = new Date()): Cause {
  return { actor: `system:${worker}`, correlationId: `${worker}-${newUlid(at.getTime())}` };
}

export interface EventFactory {
  event<T extends EventType>(type: T, data: EventData<T>, cause: Cause, opts?: { id?: string }): NewEvent;
  /** The same for an event a decider returned. */
  record(event: DomainEvent, cause: Cause, opts?: { id?: string }): NewEvent;
  now(): Date;
}

/** A uuid derived from a name: the same step always produces the same event id. */
export function deterministicEventId(name: string): string {
  const h = createHash('sha256').update(name).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function createEventFactory(instanceId: string, clock: () => Date = () => new Date()): EventFactory {
  const factory: EventFactory = {
    now: clock,
    record: (event, cause, opts) => factory.event(event.type, event.data, cause, opts),
    event(type, data, cause, opts) {
      const enc = encodeEvent(type, data);
      const metadata: EventMetadata = { actor: cause.actor, instanceId, at: clock().toISOString() };
      if (cause.correlationId) metadata.correlationId = cause.correlationId;
      if (cause.causationId) metadata.causationId = cause.causationId;
      return { id: opts?.id ?? randomUUID(), type: enc.type, schemaVersion: enc.schemaVersion, data: enc.data, metadata };
    },
  };
  return factory;
}
