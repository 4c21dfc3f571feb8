import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import { compositeSha256, ContentVerifier, hasRecordedHash } from '../../../services/integrity/content-hash.js';

const hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const version = (over: Partial<ObjectVersion>): ObjectVersion => ({
  writeId: 'w', size: 0, etag: 'e', contentType: 'application/octet-stream', metadata: {}, headers: {}, checksum: null,
  contentSha256: null, parts: null, lastModified: '2026-12-01T00:00:00Z', copies: [], encryption: null, ...over,
});

/** Feeds `bytes` in chunks of `chunk` bytes and returns the verdict. */
function verify(v: ObjectVersion, bytes: Buffer, chunk: number) {
  const verifier = new ContentVerifier(v);
  for (let i = 0; i < bytes.length; i += chunk) verifier.update(bytes.subarray(i, i + chunk));
  return verifier.finish();
}

describe('content hashes', () => {
  const body = Buffer.from('the quick brown fox jumps over the lazy dog, again and again');

  it('a single-part version verifies whatever the chunking, and names the mismatch of a flipped byte', () => {
    const v = version({ size: body.length, contentSha256: hex(body) });
    for (const chunk of [1, 7, body.length]) expect(verify(v, body, chunk)).toBeUndefined();
    const flipped = Buffer.from(body);
    flipped[10] = (flipped[10] as number) ^ 0x01;
    expect(verify(v, flipped, 5)).toEqual({ expectedSha256: hex(body), actualSha256: hex(flipped) });
  });

  it('a read shorter or longer than the version is a mismatch', () => {
    const v = version({ size: body.length, contentSha256: hex(body) });
    expect(verify(v, body.subarray(0, body.length - 1), 8)).toBeDefined();
    expect(verify(v, Buffer.concat([body, Buffer.from('x')]), 8)).toBeDefined();
  });

  it('a multipart version is checked part by part and its composite is the digest of the part digests', () => {
    const parts = [body.subarray(0, 20), Buffer.alloc(0), body.subarray(20)];
    const digests = parts.map((p) => hex(p));
    const composite = compositeSha256(digests);
    expect(composite).toBe(`${createHash('sha256').update(Buffer.concat(digests.map((d) => Buffer.from(d, 'hex')))).digest('hex')}-3`);
    const v = version({
      size: body.length, contentSha256: composite as string,
      parts: parts.map((p, i) => ({ partNumber: i + 1, size: p.length, sha256: digests[i] as string })),
    });
    for (const chunk of [1, 13, body.length]) expect(verify(v, body, chunk)).toBeUndefined();
    const flipped = Buffer.from(body);
    flipped[30] = (flipped[30] as number) ^ 0x80;
    expect(verify(v, flipped, 13)).toEqual({ expectedSha256: digests[2], actualSha256: hex(flipped.subarray(20)), partNumber: 3 });
  });

  it('versions without a recorded hash (or with a part missing one) cannot be verified', () => {
    expect(hasRecordedHash(version({ size: 1 }))).toBe(false);
    expect(compositeSha256([hex('a'), undefined])).toBeUndefined();
    expect(hasRecordedHash(version({ size: 2, contentSha256: `${hex('x')}-2`, parts: [{ partNumber: 1, size: 1, sha256: hex('a') }, { partNumber: 2, size: 1 }] }))).toBe(false);
    expect(hasRecordedHash(version({ size: 0, contentSha256: hex('') }))).toBe(true);
    expect(verify(version({ size: 0, contentSha256: hex('') }), Buffer.alloc(0), 1)).toBeUndefined();
  });
});
