import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBodyPipeline, type BodyExpectations, type ChecksumAlgorithm } from '../../../gateway/body/index.js';
import { DomainError } from '../../../domain/errors.js';
import { referenceChecksum } from './reference-checksums.js';
import { runPipeline } from './run-pipeline.js';

const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const unsigned = (extra: Partial<BodyExpectations> = {}): BodyExpectations => ({ payload: { kind: 'unsigned' }, checksumHeaders: {}, ...extra });

function syncCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('plain bodies (UNSIGNED-PAYLOAD, sha256)', () => {
  const data = randomBytes(200_003);

  it('passes the bytes through and computes MD5 and size, SHA-256 only when needed', async () => {
    for (const size of [1, 'random', 65536] as const) {
      const run = await runPipeline(unsigned(), size === 1 ? data.subarray(0, 5000) : data, size);
      const expected = size === 1 ? data.subarray(0, 5000) : data;
      expect(run.error).toBeUndefined();
      expect(run.out.equals(expected)).toBe(true);
      expect(run.digests).toEqual({ md5Hex: md5(expected).toString('hex'), size: expected.length });
    }
    const empty = await runPipeline(unsigned(), Buffer.alloc(0));
    expect(empty.digests).toEqual({ md5Hex: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 });
  });

  it('verifies the declared payload SHA-256, failing before the end', async () => {
    const ok = await runPipeline({ payload: { kind: 'sha256', expectedHex: sha256Hex(data) }, checksumHeaders: {} }, data, 'random');
    expect(ok.digests?.sha256Hex).toBe(sha256Hex(data));
    const bad = await runPipeline({ payload: { kind: 'sha256', expectedHex: sha256Hex(Buffer.from('x')) }, checksumHeaders: {} }, data);
    expect(bad.error).toBe('XAmzContentSHA256Mismatch');
    expect(bad.ended).toBe(false);
  });

  it('checks Content-MD5', async () => {
    const good = await runPipeline(unsigned({ contentMd5: md5(data).toString('base64') }), data);
    expect(good.error).toBeUndefined();
    const bad = await runPipeline(unsigned({ contentMd5: md5(Buffer.from('other')).toString('base64') }), data);
    expect(bad.error).toBe('BadDigest');
    expect(bad.ended).toBe(false);
    for (const malformed of ['', 'abc', md5(data).toString('hex'), md5(data).toString('base64').slice(0, -2)]) {
      expect(syncCode(() => createBodyPipeline(unsigned({ contentMd5: malformed })))).toBe('InvalidDigest');
    }
  });

  it('verifies each x-amz-checksum-* header algorithm', async () => {
    for (const algorithm of ALGORITHMS) {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const value = referenceChecksum(algorithm, data);
      const ok = await runPipeline(unsigned({ checksumHeaders: { [name]: value, 'x-amz-checksum-type': 'FULL_OBJECT' } }), data, 'random');
      expect(ok.error, algorithm).toBeUndefined();
      expect(ok.digests?.checksum).toEqual({ algorithm, base64: value });
      expect(ok.digests?.sha256Hex !== undefined).toBe(algorithm === 'SHA256');

      const flipped = Buffer.from(data);
      flipped[100_000] = (flipped[100_000] as number) ^ 0x01;
      const bad = await runPipeline(unsigned({ checksumHeaders: { [name]: value } }), flipped);
      expect(bad.error, algorithm).toBe('BadDigest');
      expect(bad.ended).toBe(false);

      expect(syncCode(() => createBodyPipeline(unsigned({ checksumHeaders: { [name]: value.slice(0, -3) } })))).toBe('InvalidRequest');
      expect(syncCode(() => createBodyPipeline(unsigned({ checksumHeaders: { [name]: Buffer.from(value, 'base64').toString('hex') } }))))
        .toBe('InvalidRequest');
    }
  });

  it('matches the published check values for "123456789"', async () => {
    const check = Buffer.from('123456789');
    const expected: Record<ChecksumAlgorithm, string> = {
      CRC32: 'cbf43926',
      CRC32C: 'e3069283',
      CRC64NVME: 'ae8b14860a799888',
      SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
      SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
    };
    for (const algorithm of ALGORITHMS) {
      const hex = expected[algorithm];
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const run = await runPipeline(unsigned({ checksumHeaders: { [name]: Buffer.from(hex, 'hex').toString('base64') } }), check, 1);
      expect(run.error, algorithm).toBeUndefined();
      expect(Buffer.from(referenceChecksum(algorithm, check), 'base64').toString('hex')).toBe(hex);
    }
  });

  it('refuses several checksums, unsupported algorithms and trailers without a trailer payload', () => {
    const crc = referenceChecksum('CRC32', data);
    const sha1 = referenceChecksum('SHA1', data);
    expect(syncCode(() => createBodyPipeline(unsigned({ checksumHeaders: { 'x-amz-checksum-crc32': crc, 'x-amz-checksum-sha1': sha1 } }))))
      .toBe('InvalidRequest');
    expect(syncCode(() => createBodyPipeline(unsigned({ checksumHeaders: { 'x-amz-checksum-sha512': 'AAAA' } })))).toBe('NotImplemented');
    expect(syncCode(() => createBodyPipeline(unsigned({ trailerNames: ['x-amz-checksum-crc32'] })))).toBe('InvalidRequest');
  });

  it('rejects digests() when the body is abandoned', async () => {
    const body = createBodyPipeline(unsigned());
    const failure = body.digests();
    body.stream.write(Buffer.from('partial'));
    body.stream.destroy();
    await expect(failure).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('hands bytes on as they arrive instead of buffering the body', async () => {
    const body = createBodyPipeline(unsigned());
    const seen: number[] = [];
    body.stream.on('data', (c: Buffer) => seen.push(c.length));
    const source = new Readable({ read() {} });
    source.pipe(body.stream);
    source.push(Buffer.alloc(1000));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([1000]);
    source.push(null);
    await expect(body.digests()).resolves.toMatchObject({ size: 1000 });
  });
});
