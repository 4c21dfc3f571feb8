import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDecoder, decodeEvent, encodeEvent } from '../../../domain/events/codec.js';
import { errorOf } from '../../support/domain-errors.js';

/** A catalog whose `Renamed` event went through two schema changes. */
const catalog = {
  Renamed: { version: 3, schema: z.object({ name: z.string(), size: z.number(), tags: z.array(z.string()) }) },
};
const upcasters = {
  // v1 called the name `title`.
  'Renamed@1': (d: Record<string, unknown>) => ({ name: d.title, size: d.size }),
  // v2 had no tags.
  'Renamed@2': (d: Record<string, unknown>) => ({ ...d, tags: [] }),
};
const decode = createDecoder<{ type: string; data: unknown }>(catalog, upcasters);

describe('event codec', () => {
  it('upcasts stored versions step by step to the current schema on read', () => {
    expect(decode('Renamed', 1, { title: 'a', size: 1 })).toEqual({ type: 'Renamed', data: { name: 'a', size: 1, tags: [] } });
    expect(decode('Renamed', 2, { name: 'b', size: 2 })).toEqual({ type: 'Renamed', data: { name: 'b', size: 2, tags: [] } });
    expect(decode('Renamed', 3, { name: 'c', size: 3, tags: ['x'] })).toEqual({ type: 'Renamed', data: { name: 'c', size: 3, tags: ['x'] } });
  });

  it('validates upcast data, refuses versions newer than it knows, ignores unknown types', () => {
    expect(() => decode('Renamed', 1, { title: 'a', size: 'not a number' })).toThrow();
    expect(errorOf(() => decode('Renamed', 4, {})).message).toMatch(/newer than this build knows/);
    expect(decode('SomethingElse', 1, {})).toBeUndefined();
    const noPath = createDecoder(catalog, {});
    expect(errorOf(() => noPath('Renamed', 1, {})).message).toMatch(/no upcaster for Renamed@1/);
    // An older row whose data is not an object is refused before an upcaster reads its fields.
    for (const data of [null, [], 'text', 7]) expect(errorOf(() => decodeEvent('PartUploaded', 2, data)).code).toBe('InternalError');
  });

  it('validates event data against the current schema before it is appended', () => {
    const ok = encodeEvent('UsageFlushed', { backend: 'b', period: '2026-11', apiRequests: 1, egressBytes: 0, ingressBytes: 0 });
    expect(ok.schemaVersion).toBe(1);
    expect(errorOf(() => encodeEvent('UsageFlushed', { backend: 'b', period: 'November', apiRequests: 1, egressBytes: 0, ingressBytes: 0 })).code).toBe('InternalError');
    expect(decodeEvent('UsageFlushed', 1, ok.data)).toEqual({ type: 'UsageFlushed', data: ok.data });
  });
});
