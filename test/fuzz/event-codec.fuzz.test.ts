import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventCatalog, type EventType } from '../../domain/events/catalog.js';
import { createDecoder, decodeEvent, encodeEvent } from '../../domain/events/codec.js';
import { EncryptionEnvelope, EncryptionEnvelopeRules } from '../../domain/encryption/envelope.js';
import { isDomainError } from '../../domain/errors.js';
import { fuzzRuns } from './fuzz-runs.js';
import { arbitraryOf } from './zod-arbitrary.js';

/**
 * The event codec: every event of every type the catalog knows survives encoding, storage as
 * JSON and decoding unchanged; data that does not fit a schema never reaches the log; stored
 * versions are upcast step by step; and no stored row, however odd, makes decoding throw
 * anything but a DomainError.
 */

const types = Object.keys(eventCatalog) as EventType[];
/** The envelope schema is a transform (a fast path for well-formed envelopes); its rules say what it accepts. */
const standIns = new Map<unknown, unknown>([[EncryptionEnvelope, EncryptionEnvelopeRules]]);
const anyEvent = fc.constantFrom(...types).chain((type) => fc.record({ type: fc.constant(type), data: arbitraryOf(eventCatalog[type].schema, standIns) }));

/** What the PostgreSQL store does to event data: JSONB in, JSON out. */
const stored = (data: unknown): unknown => JSON.parse(JSON.stringify(data));

describe('fuzz: event codec and upcasters', () => {
  it('round-trips every event type through encode, JSON storage and decode', () => {
    fc.assert(fc.property(anyEvent, ({ type, data }) => {
      const encoded = encodeEvent(type, data as never);
      expect(encoded.schemaVersion).toBe(eventCatalog[type].version);
      const decoded = decodeEvent(type, encoded.schemaVersion, stored(encoded.data));
      expect(decoded).toEqual({ type, data: stored(encoded.data) });
      expect(eventCatalog[type].schema.safeParse(decoded?.data).success).toBe(true);
    }), fuzzRuns(200));
  });

  it('keeps fields a schema does not know out of the log, and refuses data of the wrong shape', () => {
    const broken = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string({ maxLength: 4 }), fc.integer(), fc.double(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({}));
    fc.assert(fc.property(anyEvent, fc.string({ minLength: 1, maxLength: 10 }), fc.nat(), broken, ({ type, data }, extra, pick, value) => {
      const shape = eventCatalog[type].schema.shape as Record<string, unknown>;
      if (extra in shape) return;
      const encoded = encodeEvent(type, { ...(data as object), [extra]: 'not in the schema' } as never);
      expect(Object.hasOwn(encoded.data, extra)).toBe(false);

      const fields = Object.keys(shape);
      const field = fields[pick % fields.length] as string;
      const changed = { ...(data as Record<string, unknown>), [field]: value };
      if (eventCatalog[type].schema.safeParse(changed).success) return;
      let error: unknown;
      try {
        encodeEvent(type, changed as never);
      } catch (e) {
        error = e;
      }
      expect(isDomainError(error) && error.code === 'InternalError').toBe(true);
    }), fuzzRuns(200));
  });

  it('decodes any stored row to an event, to nothing (unknown type) or a DomainError, never anything else', () => {
    const type = fc.oneof(fc.constantFrom(...types), fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', ''), fc.string({ maxLength: 12 }));
    fc.assert(fc.property(type, fc.integer({ min: -2, max: 5 }), fc.jsonValue({ maxDepth: 2 }), (t, version, data) => {
      let result: unknown;
      try {
        result = decodeEvent(t, version, data);
      } catch (e) {
        if (!isDomainError(e)) throw e;
        return;
      }
      if (!Object.hasOwn(eventCatalog, t)) expect(result).toBeUndefined();
      else expect(result).toEqual({ type: t, data });
    }), fuzzRuns(1000));
  });

  it('upcasts any older version step by step to the current schema', () => {
    // A synthetic event whose schema changed `current - 1` times: each version renamed the
    // count field and added one.
    const chain = fc.integer({ min: 1, max: 6 }).chain((current) => fc.record({
      current: fc.constant(current),
      from: fc.integer({ min: 1, max: current }),
      count: fc.integer(),
      label: fc.string({ maxLength: 6 }),
    }));
    fc.assert(fc.property(chain, ({ current, from, count, label }) => {
      const shapeAt = (v: number) => Object.fromEntries([[`count${v}`, count], ...Array.from({ length: v - 1 }, (_, i) => [`added${i + 2}`, label])]);
      const upcasters = Object.fromEntries(Array.from({ length: current - 1 }, (_, i) => {
        const v = i + 1;
        return [`Evolving@${v}`, (d: Record<string, unknown>) => {
          const { [`count${v}`]: c, ...rest } = d;
          return { ...rest, [`count${v + 1}`]: c, [`added${v + 1}`]: label };
        }];
      }));
      const schema = z.object(Object.fromEntries(Object.keys(shapeAt(current)).map((k) => [k, k.startsWith('count') ? z.number() : z.string()]))).strict();
      const decode = createDecoder<{ type: string; data: unknown }>({ Evolving: { version: current, schema } }, upcasters);
      expect(decode('Evolving', from, stored(shapeAt(from)))).toEqual({ type: 'Evolving', data: shapeAt(current) });
    }), fuzzRuns(300));
  });
});
