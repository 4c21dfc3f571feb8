import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticate, SigningKeyCache, type PayloadMode } from '../../../gateway/auth/index.js';
import type { BodyExpectations, ChecksumAlgorithm } from '../../../gateway/body/index.js';
import { lookup } from '../auth/signing-support.js';
import { encodeAwsChunked, referenceSigningKey, type ReferenceSigning } from './reference-chunked-encoder.js';
import { referenceChecksum } from './reference-checksums.js';
import { runPipeline } from './run-pipeline.js';

const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

/** The AWS documentation's streaming examples (sigv4-streaming.html, sigv4-streaming-trailers.html). */
const DOC = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  now: Date.UTC(2013, 4, 24, 0, 1, 0),
  plain: {
    signedHeaders: 'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
    seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    chunks: [
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ],
  },
  trailer: {
    signedHeaders: 'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
    seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
    chunks: [
      'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
      '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
      '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
    ],
    trailer: 'x-amz-checksum-crc32c:sOO8/Q==',
    trailerSignature: 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
  },
};

function docRequest(trailer: boolean): { mode: PayloadMode; body: Buffer } {
  const ex = trailer ? DOC.trailer : DOC.plain;
  let body = '';
  for (const [i, size] of [65536, 1024, 0].entries()) {
    body += `${size.toString(16)};chunk-signature=${ex.chunks[i] as string}\r\n${'a'.repeat(size)}`;
    if (size > 0 || !trailer) body += '\r\n';
  }
  if (trailer) body += `${DOC.trailer.trailer}\r\nx-amz-trailer-signature:${DOC.trailer.trailerSignature}\r\n\r\n`;
  const headers: Record<string, string> = {
    'content-encoding': 'aws-chunked',
    host: 's3.amazonaws.com',
    'x-amz-content-sha256': trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'x-amz-date': '20130524T000000Z',
    'x-amz-decoded-content-length': '66560',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization: `AWS4-HMAC-SHA256 Credential=${DOC.accessKeyId}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${ex.signedHeaders},Signature=${ex.seed}`,
  };
  if (trailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
  else headers['content-length'] = String(body.length);
  const creds = lookup({ [DOC.accessKeyId]: { secretAccessKey: DOC.secret, bucket: 'examplebucket' } });
  const { payload } = authenticate(
    { method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', headers, nowMs: DOC.now },
    creds,
    new SigningKeyCache(),
  );
  return { mode: payload, body: Buffer.from(body, 'latin1') };
}

const NOW_DATE = '20261125';
const SIGNING: ReferenceSigning = {
  signingKey: referenceSigningKey('secret-key', NOW_DATE, 'us-east-1', 's3'),
  scope: `${NOW_DATE}/us-east-1/s3/aws4_request`,
  amzDate: `${NOW_DATE}T120000Z`,
  seedSignature: '9'.repeat(64),
};
const signedMode = (trailer: boolean): PayloadMode => ({ kind: 'streaming-signed', trailer, ...SIGNING });
const exp = (payload: PayloadMode, extra: Partial<BodyExpectations> = {}): BodyExpectations => ({ payload, checksumHeaders: {}, ...extra });

describe('aws-chunked bodies', () => {
  it('decodes the AWS documentation example of signed chunks, whatever the write size', async () => {
    expect(DOC.plain.chunks).toHaveLength(3);
    const { mode, body } = docRequest(false);
    expect(body.length).toBe(66824); // the documented Content-Length
    expect(mode).toMatchObject({ kind: 'streaming-signed', trailer: false, seedSignature: DOC.plain.seed });
    for (const size of [1, 'random', 65536] as const) {
      const run = await runPipeline(exp(mode, { decodedContentLength: 66560 }), body, size);
      expect(run.error).toBeUndefined();
      expect(run.out.equals(Buffer.alloc(66560, 'a'))).toBe(true);
      expect(run.digests?.size).toBe(66560);
    }
  });

  it('decodes the AWS documentation example with a signed CRC32C trailer', async () => {
    const { mode, body } = docRequest(true);
    const run = await runPipeline(exp(mode, { decodedContentLength: 66560, trailerNames: ['x-amz-checksum-crc32c'] }), body, 'random');
    expect(run.error).toBeUndefined();
    expect(run.digests?.checksum).toEqual({ algorithm: 'CRC32C', base64: 'sOO8/Q==' });
    const tampered = Buffer.from(body.toString('latin1').replace('sOO8/Q==', 'sOO8/Q=A'), 'latin1');
    expect((await runPipeline(exp(mode, { trailerNames: ['x-amz-checksum-crc32c'] }), tampered)).error).toBe('SignatureDoesNotMatch');
  });

  it('round-trips every variant from the reference encoder, for every checksum and split', async () => {
    const data = randomBytes(70_001);
    for (const variant of ['signed', 'signed-trailer', 'unsigned-trailer'] as const) {
      for (const algorithm of variant === 'signed' ? [undefined] : ALGORITHMS) {
        const trailers: [string, string][] | undefined = algorithm === undefined
          ? undefined
          : [[`x-amz-checksum-${algorithm.toLowerCase()}`, referenceChecksum(algorithm, data)]];
        const mode: PayloadMode = variant === 'unsigned-trailer' ? { kind: 'streaming-unsigned-trailer' } : signedMode(variant === 'signed-trailer');
        const { body } = encodeAwsChunked(data, {
          chunkSize: 8192,
          ...(variant === 'unsigned-trailer' ? {} : { signing: SIGNING }),
          ...(trailers === undefined ? {} : { trailers }),
        });
        const e = exp(mode, { decodedContentLength: data.length, ...(trailers ? { trailerNames: [trailers[0]![0]] } : {}) });
        for (const size of [1, 'random', 1 << 20] as const) {
          if (size === 1 && algorithm !== 'CRC32' && algorithm !== undefined) continue; // 1-byte writes are slow; once per variant
          const run = await runPipeline(e, body, size);
          expect(run.error, `${variant} ${algorithm} ${size}`).toBeUndefined();
          expect(run.out.equals(data)).toBe(true);
          if (algorithm !== undefined) expect(run.digests?.checksum).toEqual({ algorithm, base64: trailers![0]![1] });
        }
      }
    }
  });

  it('rejects a flipped data byte: signature for signed chunks, BadDigest for an unsigned trailer', async () => {
    const data = randomBytes(40_000);
    const crc: [string, string][] = [['x-amz-checksum-crc32', referenceChecksum('CRC32', data)]];
    const cases = [
      { mode: signedMode(false), opts: { signing: SIGNING }, trailerNames: undefined, code: 'SignatureDoesNotMatch' },
      { mode: signedMode(true), opts: { signing: SIGNING, trailers: crc }, trailerNames: ['x-amz-checksum-crc32'], code: 'SignatureDoesNotMatch' },
      { mode: { kind: 'streaming-unsigned-trailer' } as PayloadMode, opts: { trailers: crc }, trailerNames: ['x-amz-checksum-crc32'], code: 'BadDigest' },
    ];
    for (const c of cases) {
      const { body, dataOffsets } = encodeAwsChunked(data, { chunkSize: 16384, ...c.opts });
      const at = (dataOffsets[2] as number) + 10; // inside the last data chunk
      body[at] = (body[at] as number) ^ 0x20;
      const run = await runPipeline(exp(c.mode, { ...(c.trailerNames ? { trailerNames: c.trailerNames } : {}) }), body, 'random');
      expect(run.error).toBe(c.code);
      expect(run.ended).toBe(false);
    }
  });

  it('rejects broken signature chains: a changed, reordered or dropped chunk, a missing or wrong trailer signature', async () => {
    const data = Buffer.alloc(3 * 1000, 'q');
    const { body } = encodeAwsChunked(data, { chunkSize: 1000, signing: SIGNING });
    const text = body.toString('latin1');
    const frames = text.split(/(?<=^|\r\n)(?=[0-9a-f]+;chunk-signature=)/);
    expect(frames).toHaveLength(4);
    const [a, b, c, end] = frames as [string, string, string, string];
    const variants = {
      reordered: b + a + c + end,
      dropped: a + c + end,
      changedSignature: text.replace(/chunk-signature=([0-9a-f])/, (_m, d: string) => `chunk-signature=${d === '0' ? '1' : '0'}`),
      noSignature: text.replace(/;chunk-signature=[0-9a-f]{64}/, ''),
      shortSignature: text.replace(/(chunk-signature=[0-9a-f]{63})[0-9a-f]/, '$1'),
    };
    for (const [name, v] of Object.entries(variants)) {
      const run = await runPipeline(exp(signedMode(false)), Buffer.from(v, 'latin1'));
      expect(run.error, name).toBe('SignatureDoesNotMatch');
    }

    const crc: [string, string][] = [['x-amz-checksum-crc32', referenceChecksum('CRC32', data)]];
    const signed = encodeAwsChunked(data, { chunkSize: 1000, signing: SIGNING, trailers: crc }).body.toString('latin1');
    const e = exp(signedMode(true), { trailerNames: ['x-amz-checksum-crc32'] });
    expect((await runPipeline(e, Buffer.from(signed, 'latin1'))).error).toBeUndefined();
    const trailerVariants = {
      missingSignature: signed.replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n/, ''),
      wrongSignature: signed.replace(/x-amz-trailer-signature:[0-9a-f]/, 'x-amz-trailer-signature:g'),
      wrongValueWithOldSignature: signed.replace(crc[0]![1], referenceChecksum('CRC32', Buffer.from('other'))),
    };
    for (const [name, v] of Object.entries(trailerVariants)) {
      const run = await runPipeline(e, Buffer.from(v, 'latin1'));
      expect(run.error, name).toBe('SignatureDoesNotMatch');
      expect(run.ended).toBe(false);
    }
  });

  it('rejects malformed framing', async () => {
    const data = randomBytes(5000);
    const unsignedMode: PayloadMode = { kind: 'streaming-unsigned-trailer' };
    const { body } = encodeAwsChunked(data, { chunkSize: 2000 });
    const text = body.toString('latin1');
    const cases: [string, string, string, Partial<BodyExpectations>?][] = [
      ['truncated in data', text.slice(0, 3000), 'IncompleteBody'],
      ['no final chunk', text.slice(0, text.indexOf('0\r\n\r\n', 4000)), 'IncompleteBody'],
      ['truncated size line', text.slice(0, 2003) + '7', 'IncompleteBody'],
      ['data after the end', text + 'x', 'InvalidRequest'],
      ['non-hex size', text.replace('7d0\r\n', '7g0\r\n'), 'InvalidRequest'],
      ['size line without CR', text.replace('7d0\r\n', '7d0\n'), 'InvalidRequest'],
      ['data longer than declared', text.replace('7d0\r\n', '7cf\r\n'), 'InvalidRequest'],
      ['data shorter than declared', text.replace('7d0\r\n', '7d1\r\n'), 'InvalidRequest'],
      ['chunk over the limit', text, 'InvalidRequest', { maxChunkSize: 1999 }],
      ['overlong line', `${'0'.repeat(5000)}1\r\nx\r\n0\r\n\r\n`, 'InvalidRequest'],
      ['decoded length too small', text, 'InvalidRequest', { decodedContentLength: 4999 }],
      ['decoded length too large', text, 'IncompleteBody', { decodedContentLength: 5001 }],
      ['undeclared trailer', text.replace(/0\r\n\r\n$/, `0\r\nx-amz-checksum-crc32:${referenceChecksum('CRC32', data)}\r\nx-amz-meta-a:b\r\n\r\n`), 'InvalidRequest', { trailerNames: ['x-amz-checksum-crc32'] }],
      ['trailer sent twice', text.replace(/0\r\n\r\n$/, `0\r\nx-amz-checksum-crc32:${referenceChecksum('CRC32', data)}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`), 'InvalidRequest', { trailerNames: ['x-amz-checksum-crc32'] }],
      ['malformed trailer value', text.replace(/0\r\n\r\n$/, '0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n'), 'InvalidRequest', { trailerNames: ['x-amz-checksum-crc32'] }],
      ['named trailer not sent', text, 'IncompleteBody', { trailerNames: ['x-amz-checksum-crc32'] }],
    ];
    for (const [name, input, code, extra] of cases) {
      const run = await runPipeline(exp(unsignedMode, extra), Buffer.from(input, 'latin1'), 'random');
      expect(run.error, name).toBe(code);
      expect(run.ended, name).toBe(false);
    }
    // Trailers need a -TRAILER payload.
    const signedBody = encodeAwsChunked(data, { chunkSize: 2000, signing: SIGNING }).body.toString('latin1');
    const withTrailer = signedBody.replace(/\r\n\r\n$/, '\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    expect((await runPipeline(exp(signedMode(false)), Buffer.from(withTrailer, 'latin1'))).error).toBe('InvalidRequest');
  });

  it('accepts the JS SDK ending without the closing CRLF when no trailer was named', async () => {
    const data = randomBytes(3000);
    const { body } = encodeAwsChunked(data, { chunkSize: 1024, omitFinalCrlf: true });
    const run = await runPipeline(exp({ kind: 'streaming-unsigned-trailer' }, { decodedContentLength: 3000 }), body, 1);
    expect(run.error).toBeUndefined();
    expect(run.out.equals(data)).toBe(true);
  });
});
