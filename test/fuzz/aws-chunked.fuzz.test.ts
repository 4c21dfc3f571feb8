import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PayloadMode } from '../../gateway/auth/index.js';
import { createBodyPipeline, type BodyExpectations, type ChecksumAlgorithm } from '../../gateway/body/index.js';
import { encodeAwsChunked, referenceSigningKey, type ReferenceSigning } from '../unit/body/reference-chunked-encoder.js';
import { referenceChecksum } from '../unit/body/reference-checksums.js';
import { runPipeline } from '../unit/body/run-pipeline.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * Request bodies: aws-chunked in all three STREAMING-* variants from an independent reference
 * encoder, cut into random writes, with random trailers — and plain bodies with their digests.
 * A body decodes to exactly its bytes or is refused with a 4xx; a signed body never decodes to
 * other bytes, whatever byte of it changed.
 */

const SIGNING: ReferenceSigning = {
  signingKey: referenceSigningKey('secret-key', '20261125', 'us-east-1', 's3'),
  scope: '20261125/us-east-1/s3/aws4_request',
  amzDate: '20261125T120000Z',
  seedSignature: '9'.repeat(64),
};
const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
type Variant = 'signed' | 'signed-trailer' | 'unsigned-trailer';

const modeOf = (variant: Variant): PayloadMode =>
  variant === 'unsigned-trailer' ? { kind: 'streaming-unsigned-trailer' } : { kind: 'streaming-signed', trailer: variant === 'signed-trailer', ...SIGNING };

interface ChunkedCase {
  data: Buffer;
  chunkSize: number;
  variant: Variant;
  algorithm: ChecksumAlgorithm | undefined;
  omitFinalCrlf: boolean;
  declareLength: boolean;
  writes: number[];
}

const chunkedCase: fc.Arbitrary<ChunkedCase> = fc.record({
  data: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  chunkSize: fc.integer({ min: 1, max: 1200 }),
  variant: fc.constantFrom<Variant>('signed', 'signed-trailer', 'unsigned-trailer'),
  algorithm: fc.option(fc.constantFrom(...ALGORITHMS), { nil: undefined }),
  omitFinalCrlf: fc.boolean(),
  declareLength: fc.boolean(),
  writes: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
});

function encode(c: ChunkedCase): { body: Buffer; exp: BodyExpectations; checksum?: { algorithm: ChecksumAlgorithm; base64: string } } {
  const hasTrailer = c.variant !== 'signed' && c.algorithm !== undefined;
  const trailers: [string, string][] | undefined = hasTrailer && c.algorithm
    ? [[`x-amz-checksum-${c.algorithm.toLowerCase()}`, referenceChecksum(c.algorithm, c.data)]]
    : c.variant === 'signed-trailer' ? [] : undefined;
  const { body } = encodeAwsChunked(c.data, {
    chunkSize: c.chunkSize,
    ...(c.variant === 'unsigned-trailer' ? {} : { signing: SIGNING }),
    ...(trailers === undefined ? {} : { trailers }),
    // Only without a trailer section may the closing empty line be left out (the JS SDK does).
    omitFinalCrlf: c.omitFinalCrlf && (trailers === undefined || trailers.length === 0) && c.variant === 'signed',
  });
  const exp: BodyExpectations = {
    payload: modeOf(c.variant),
    checksumHeaders: {},
    ...(c.declareLength ? { decodedContentLength: c.data.length } : {}),
    ...(hasTrailer && trailers?.[0] ? { trailerNames: [trailers[0][0]] } : {}),
  };
  return { body, exp, ...(hasTrailer && c.algorithm && trailers?.[0] ? { checksum: { algorithm: c.algorithm, base64: trailers[0][1] } } : {}) };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('fuzz: request bodies (aws-chunked and plain)', () => {
  it('decodes every aws-chunked body the reference encoder makes to its bytes, however it is cut', async () => {
    await fc.assert(fc.asyncProperty(chunkedCase, async (c) => {
      const { body, exp, checksum } = encode(c);
      const run = await runPipeline(exp, body, c.writes);
      expect(run.error).toBeUndefined();
      expect(run.out.equals(c.data)).toBe(true);
      expect(run.digests?.size).toBe(c.data.length);
      expect(run.digests?.md5Hex).toBe(createHash('md5').update(c.data).digest('hex'));
      if (checksum) expect(run.digests?.checksum).toEqual(checksum);
    }), fuzzRuns(150));
  });

  it('never decodes a changed signed or checksummed body to other bytes', async () => {
    const changed = fc.record({ c: chunkedCase, at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) })
      .filter(({ c }) => c.variant !== 'unsigned-trailer' || c.algorithm !== undefined);
    await fc.assert(fc.asyncProperty(changed, async ({ c, at, mask }) => {
      const { body, exp } = encode(c);
      const i = at % body.length;
      body[i] = (body[i] as number) ^ mask;
      const run = await runPipeline(exp, body, c.writes);
      if (run.error === undefined) expect(run.out.equals(c.data)).toBe(true);
      else expect(run.ended).toBe(false);
    }), fuzzRuns(150));
  });

  it('refuses garbage and truncated framing with a 4xx (the runner rethrows anything else)', async () => {
    const token = fc.oneof(
      fc.constantFrom('0', '1', 'a', 'F', 'ffffffff', '10', ';', 'chunk-signature=', '9'.repeat(64), '\r\n', '\r', '\n', ':',
        'x-amz-checksum-crc32:', 'AAAAAA==', 'x-amz-trailer-signature:', 'x-amz-meta-a:b', ' ', '\u0000'),
      fc.string({ maxLength: 8 }),
    );
    const garbage = fc.array(token, { maxLength: 30 }).map((t) => Buffer.from(t.join(''), 'latin1'));
    await fc.assert(fc.asyncProperty(garbage, fc.constantFrom<Variant>('signed', 'signed-trailer', 'unsigned-trailer'), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }), fc.boolean(), async (body, variant, writes, trailerNamed) => {
      const exp: BodyExpectations = { payload: modeOf(variant), checksumHeaders: {}, ...(trailerNamed ? { trailerNames: ['x-amz-checksum-crc32'] } : {}) };
      // A contradictory declaration is refused before any byte is read.
      const refused = clientOutcome(() => createBodyPipeline(exp));
      if (!refused.ok) return;
      const run = await runPipeline(exp, body, writes);
      if (run.error === undefined) expect(run.ended).toBe(true);
    }), fuzzRuns(200));
  });

  it('checks a plain body against its SHA-256, Content-MD5 and x-amz-checksum header, however it is cut', async () => {
    const plain = fc.record({
      data: fc.uint8Array({ maxLength: 4000 }).map((a) => Buffer.from(a)),
      writes: fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 5 }),
      algorithm: fc.constantFrom(...ALGORITHMS),
      flip: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { nil: undefined }),
      declare: fc.constantFrom('sha256', 'md5', 'checksum', 'unsigned'),
    });
    await fc.assert(fc.asyncProperty(plain, async ({ data, writes, algorithm, flip, declare }) => {
      const exp: BodyExpectations = {
        payload: declare === 'sha256' ? { kind: 'sha256', expectedHex: sha256(data) } : { kind: 'unsigned' },
        checksumHeaders: declare === 'checksum' ? { [`x-amz-checksum-${algorithm.toLowerCase()}`]: referenceChecksum(algorithm, data) } : {},
        ...(declare === 'md5' ? { contentMd5: createHash('md5').update(data).digest('base64') } : {}),
      };
      const sent = Buffer.from(data);
      if (flip && sent.length > 0) sent[flip[0] % sent.length] = (sent[flip[0] % sent.length] as number) ^ flip[1];
      const run = await runPipeline(exp, sent, writes);
      const altered = !sent.equals(data);
      if (altered && declare !== 'unsigned') {
        expect(run.error).toBeDefined();
        expect(run.ended).toBe(false);
      } else {
        expect(run.error).toBeUndefined();
        expect(run.out.equals(sent)).toBe(true);
      }
    }), fuzzRuns(200));
  });
});
