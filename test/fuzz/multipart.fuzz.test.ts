import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PART_NUMBER, completeMultipartUpload, parsePartNumber, type RequestedPart, type UploadedPart,
} from '../../domain/s3/multipart.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Multipart part validation: partNumber parsing, and CompleteMultipartUpload against the parts
 * uploaded — a valid list completes with S3's multipart ETag however its ETags are quoted or
 * cased, and a list with any fault is refused with the code of the first check S3 makes.
 */

const md5Hex = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const MIN = 100;
const MAX_OBJECT = 10_000;

const uploadedParts = fc.uniqueArray(fc.record({
  partNumber: fc.integer({ min: 1, max: MAX_PART_NUMBER }),
  etag: fc.stringMatching(/^[0-9a-f]{32}$/),
  size: fc.integer({ min: 0, max: 400 }),
}), { selector: (p) => p.partNumber, minLength: 1, maxLength: 8 }).map((ps) => ps.sort((a, b) => a.partNumber - b.partNumber));

/** The ETag as a client may send it back: quoted or not, any case, padded. */
const asSent = (etag: string): fc.Arbitrary<string> =>
  fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom('', ' ', '\n ')).map(([quoted, upper, pad]) => {
    const e = upper ? etag.toUpperCase() : etag;
    return `${pad}${quoted ? `"${e}"` : e}${pad}`;
  });

type Fault = 'none' | 'empty' | 'number-out-of-range' | 'out-of-order' | 'duplicate' | 'unknown-part' | 'wrong-etag';

/** What S3 answers, checking in its order: empty list, numbers, order, parts, sizes, total. */
function expectedCode(uploaded: readonly UploadedPart[], requested: readonly RequestedPart[]): string | undefined {
  if (requested.length === 0) return 'MalformedXML';
  if (requested.some((p) => !Number.isInteger(p.partNumber) || p.partNumber < 1 || p.partNumber > MAX_PART_NUMBER)) return 'InvalidArgument';
  if (requested.some((p, i) => i > 0 && p.partNumber <= (requested[i - 1] as RequestedPart).partNumber)) return 'InvalidPartOrder';
  const norm = (e: string): string => e.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  const chosen = requested.map((r) => uploaded.find((u) => u.partNumber === r.partNumber && norm(u.etag) === norm(r.etag)));
  if (chosen.some((c) => c === undefined)) return 'InvalidPart';
  const parts = chosen as UploadedPart[];
  if (parts.some((p, i) => i < parts.length - 1 && p.size < MIN)) return 'EntityTooSmall';
  if (parts.reduce((n, p) => n + p.size, 0) > MAX_OBJECT) return 'EntityTooLarge';
  return undefined;
}

describe('fuzz: multipart part validation', () => {
  it('takes a partNumber that is an integer 1..10000 and refuses anything else with InvalidArgument', () => {
    const raw = fc.oneof(fc.integer({ min: -10, max: 10_010 }).map(String), fc.string({ maxLength: 8 }),
      fc.constantFrom('01', '+1', ' 1', '1 ', '1.0', '1e3', '0x10', '', '10000', '10001', '99999999999999999999'));
    fc.assert(fc.property(fc.option(raw, { nil: undefined }), (value) => {
      const outcome = clientOutcome(() => parsePartNumber(value));
      const valid = value !== undefined && /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_PART_NUMBER;
      expect(outcome).toEqual(valid ? { ok: true, value: Number(value) } : { ok: false, code: 'InvalidArgument' });
    }), fuzzRuns(400));
  });

  it('completes any valid part list with S3\'s ETag, and refuses any faulty one with the first failing check\'s code', () => {
    const faults = fc.constantFrom<Fault>('none', 'none', 'empty', 'number-out-of-range', 'out-of-order', 'duplicate', 'unknown-part', 'wrong-etag');
    const completion = uploadedParts.chain((uploaded) => fc.record({
      uploaded: fc.constant(uploaded),
      chosen: fc.subarray(uploaded, { minLength: 1 }),
      fault: faults,
      at: fc.nat(),
      sent: fc.tuple(...uploaded.map((p) => asSent(p.etag))),
    }));
    fc.assert(fc.property(completion, ({ uploaded, chosen, fault, at, sent }) => {
      const sentEtag = new Map(uploaded.map((p, i) => [p.partNumber, sent[i] as string]));
      let requested: RequestedPart[] = chosen.map((p) => ({ partNumber: p.partNumber, etag: sentEtag.get(p.partNumber) as string }));
      const i = at % requested.length;
      const target = requested[i] as RequestedPart;
      if (fault === 'empty') requested = [];
      else if (fault === 'number-out-of-range') requested[i] = { ...target, partNumber: [0, -1, MAX_PART_NUMBER + 1, 1.5][at % 4] as number };
      else if (fault === 'out-of-order' && requested.length > 1) requested.reverse();
      else if (fault === 'duplicate') requested.splice(i, 0, target);
      else if (fault === 'unknown-part') requested[i] = { ...target, partNumber: uploaded.some((p) => p.partNumber === MAX_PART_NUMBER) ? target.partNumber : MAX_PART_NUMBER };
      else if (fault === 'wrong-etag') requested[i] = { ...target, etag: `${target.etag.trim()}0` };

      const outcome = clientOutcome(() => completeMultipartUpload(uploaded, requested, { md5: md5Hex, minPartSize: MIN, maxObjectSize: MAX_OBJECT }));
      const code = expectedCode(uploaded, requested);
      if (code !== undefined) {
        expect(outcome).toEqual({ ok: false, code });
        return;
      }
      if (!outcome.ok) throw new Error(`refused a valid list with ${outcome.code}`);
      const parts = requested.map((r) => uploaded.find((u) => u.partNumber === r.partNumber) as UploadedPart);
      expect(outcome.value.parts).toEqual(parts);
      expect(outcome.value.totalSize).toBe(parts.reduce((n, p) => n + p.size, 0));
      const digest = md5Hex(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex'))));
      expect(outcome.value.etag).toBe(`${digest}-${parts.length}`);
    }), fuzzRuns(400));
  });
});
