import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncryptionEnvelope, EncryptionEnvelopeRules } from '../../../domain/encryption/envelope.js';
import { encodeEvent } from '../../../domain/events/codec.js';
import { ObjectWritten } from '../../../domain/events/object-events.js';
import { isWellFormedObjectWritten } from '../../../domain/events/well-formed.js';
import { fuzzRuns } from '../../fuzz/fuzz-runs.js';
import { arbitraryOf } from '../../fuzz/zod-arbitrary.js';

const put = () => ({
  bucket: 'b', key: 'k', writeId: '01JEXAMPLE0000000000000000', size: 4096, previousSize: null, etag: '0123456789abcdef0123456789abcdef',
  contentType: 'binary/octet-stream', metadata: { n: 'v' }, headers: { cacheControl: 'no-cache' }, checksum: null, contentSha256: null, parts: null,
  lastModified: '2026-12-04T13:00:00.000Z', copies: [{ backend: 'one', storageKey: 'b/k/01J', size: 4096 }],
  displaced: [{ backend: 'one', storageKey: 'b/k/00J', size: 10, cleanupId: 'c1' }], origin: 'put' as const, encryption: null,
});

const standIns = new Map<unknown, unknown>([[EncryptionEnvelope, EncryptionEnvelopeRules]]);
const broken = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(''), fc.integer({ min: -3, max: 3 }), fc.double(), fc.boolean(), fc.constant([]), fc.constant({}), fc.constant({ x: 1 }));

/** The hand check passes only data the zod schema would answer unchanged; everything else is the schema's to decide. */
describe('ObjectWritten hand check', () => {
  it('takes a PUT\'s event as it is, the schema\'s answer for it', () => {
    const data = put();
    expect(isWellFormedObjectWritten(data)).toBe(true);
    expect(encodeEvent('ObjectWritten', data).data).toBe(data);
    expect(ObjectWritten.parse(data)).toEqual(data);
    expect(isWellFormedObjectWritten({ ...data, uploadId: 'u1' })).toBe(true);
  });

  it('leaves unknown fields, broken rules and rare shapes to the schema', () => {
    const data = put();
    expect(isWellFormedObjectWritten({ ...data, extra: 1 })).toBe(false);
    expect(encodeEvent('ObjectWritten', { ...data, extra: 1 } as never).data).toEqual(data);
    expect(isWellFormedObjectWritten({ ...data, headers: { cacheControl: 'x', other: 'y' } })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, copies: [] })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, copies: [{ backend: '', storageKey: 'k', size: 1 }] })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, displaced: [{ backend: 'one', storageKey: 'k', size: 1 }] })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, size: -1 })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, size: 1.5 })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, checksum: { algorithm: 'MD5', value: 'x' } })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, contentSha256: 'nothex' })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, parts: [{ partNumber: 1, size: 1 }] })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, origin: 'other' })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, metadata: { n: 1 } })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, uploadId: undefined })).toBe(false);
    expect(isWellFormedObjectWritten({ ...data, encryption: undefined })).toBe(false);
  });

  it('passes nothing the schema would refuse or change (generated and broken events)', () => {
    const fields = Object.keys(ObjectWritten.shape);
    fc.assert(fc.property(arbitraryOf(ObjectWritten, standIns), fc.nat(), broken, fc.boolean(), (data, pick, value, change) => {
      const field = fields[pick % fields.length] as string;
      const candidate = change ? { ...(data as Record<string, unknown>), [field]: value } : data;
      if (!isWellFormedObjectWritten(candidate)) return;
      const parsed = ObjectWritten.safeParse(candidate);
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(candidate);
    }), fuzzRuns(200));
  });
});
