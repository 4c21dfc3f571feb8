import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readWholeBody, type BodyExpectations, type ChecksumAlgorithm } from '../../../gateway/body/index.js';
import { DomainError } from '../../../domain/errors.js';
import { referenceChecksum } from './reference-checksums.js';
import { runPipeline, split } from './run-pipeline.js';

const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const unsigned = (extra: Partial<BodyExpectations> = {}): BodyExpectations => ({ payload: { kind: 'unsigned' }, checksumHeaders: {}, ...extra });

/** readWholeBody over `data` sent in pieces: its bytes and digests, or its DomainError code. */
async function readWhole(exp: BodyExpectations, data: Buffer) {
  try {
    const whole = await readWholeBody(Readable.from(split(data, 'random')), exp);
    return { data: whole.data, digests: whole.digests };
  } catch (e) {
    if (e instanceof DomainError) return { error: e.code };
    throw e;
  }
}

describe('a small body read whole', () => {
  const data = randomBytes(20_011);

  it('answers the bytes and the digests the streamed pipeline computes', async () => {
    for (const exp of [unsigned(), unsigned({ sha256: true }), { payload: { kind: 'sha256', expectedHex: sha256Hex(data) }, checksumHeaders: {} } as BodyExpectations]) {
      const whole = await readWhole(exp, data);
      const streamed = await runPipeline(exp, data, 'random');
      expect(whole.data?.equals(data)).toBe(true);
      expect(whole.digests).toEqual(streamed.digests);
    }
    expect((await readWhole(unsigned(), Buffer.alloc(0))).digests).toEqual({ md5Hex: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 });
  });

  it('verifies Content-MD5, the payload SHA-256 and each x-amz-checksum-* header as the pipeline does', async () => {
    expect((await readWhole(unsigned({ contentMd5: md5(data).toString('base64') }), data)).error).toBeUndefined();
    expect((await readWhole(unsigned({ contentMd5: md5(Buffer.from('other')).toString('base64') }), data)).error).toBe('BadDigest');
    const wrongSha = { payload: { kind: 'sha256', expectedHex: sha256Hex(Buffer.from('x')) }, checksumHeaders: {} } as BodyExpectations;
    expect((await readWhole(wrongSha, data)).error).toBe('XAmzContentSHA256Mismatch');
    for (const algorithm of ALGORITHMS) {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const value = referenceChecksum(algorithm, data);
      const ok = await readWhole(unsigned({ checksumHeaders: { [name]: value } }), data);
      expect(ok.digests?.checksum, algorithm).toEqual({ algorithm, base64: value });
      const flipped = Buffer.from(data);
      flipped[10_000] = (flipped[10_000] as number) ^ 0x01;
      expect((await readWhole(unsigned({ checksumHeaders: { [name]: value } }), flipped)).error, algorithm).toBe('BadDigest');
    }
  });

  it('refuses malformed expectations at once, as the pipeline does', () => {
    expect(() => readWholeBody(Readable.from([data]), unsigned({ contentMd5: 'abc' }))).toThrow(expect.objectContaining({ code: 'InvalidDigest' }));
  });

  it('fails IncompleteBody when the source closes before its end', async () => {
    const source = new PassThrough();
    const whole = readWholeBody(source, unsigned());
    source.write(data.subarray(0, 100));
    source.destroy(new Error('aborted'));
    await expect(whole).rejects.toMatchObject({ code: 'IncompleteBody' });
  });
});
