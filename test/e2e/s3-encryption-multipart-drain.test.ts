import { randomBytes } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

/**
 * An encrypted multipart object moved by a drain: the move copies its stored bytes (all segments,
 * one per part) to the other backend, and every read of it afterwards — whole, by part number and
 * ranges at and across part and chunk boundaries — is byte-identical to what was uploaded.
 */

const CHUNK = 4096;
const MiB = 1024 * 1024;
const encryptionYaml = ['encryption:', '  enabled: true', `  master_key: "${randomBytes(32).toString('base64')}"`, `  chunk_size: ${CHUNK}`].join('\n');

async function bytesOf(s3: S3Client, range?: string, partNumber?: number): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'moved', ...(range ? { Range: range } : {}), ...(partNumber ? { PartNumber: partNumber } : {}) }));
  return Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

describeOnEachBackend('an encrypted multipart object moved by a drain', (on) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 100 * MiB }, { quota: 100 * MiB }], extraYaml: encryptionYaml, on });
  });
  afterAll(async () => stack?.stop());

  it('reads byte-identical after the move: whole, by part, and ranges across part and chunk boundaries', async () => {
    const s3 = stack.client('alpha');
    // Part 1 ends inside a chunk, part 2 on a chunk boundary, part 3 is smaller than a chunk.
    const parts = [randomBytes(5 * MiB + 1000), randomBytes(5 * MiB), randomBytes(CHUNK - 77)];
    const whole = Buffer.concat(parts);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'moved' }));
    const done = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'moved', UploadId, PartNumber: i + 1, Body: body }));
      done.push({ PartNumber: i + 1, ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'moved', UploadId, MultipartUpload: { Parts: done } }));
    const copyOf = async () => (await stack.db.pool.query<{ backend: string; storage_key: string; size: string }>(
      "SELECT backend, storage_key, size FROM object_copies WHERE bucket = 'alpha' AND key = 'moved'",
    )).rows;
    const [before] = await copyOf();
    if (!before) throw new Error('the object has no copy');
    expect(Number(before.size)).toBeGreaterThan(whole.length);

    const admin = stack.orchestrator.services.backendAdmin;
    await admin.startDrain(before.backend, { actor: 'operator:test' });
    await expect.poll(async () => (await admin.drainStatus(before.backend)).state, { timeout: 60_000, interval: 200 }).toBe('drained');
    const after = await copyOf();
    expect(after).toHaveLength(1);
    expect(after[0]?.backend).not.toBe(before.backend);
    expect(after[0]?.size).toBe(before.size);

    expect((await bytesOf(s3)).equals(whole)).toBe(true);
    for (const [i, part] of parts.entries()) expect((await bytesOf(s3, undefined, i + 1)).equals(part), `part ${i + 1}`).toBe(true);
    const p1 = (parts[0] as Buffer).length;
    const p2 = p1 + (parts[1] as Buffer).length;
    const ranges: [number, number][] = [
      [p1 - 1, p1], // the last byte of part 1 and the first of part 2
      [p1 - 5000, p1 + 5000], // chunks on both sides of the boundary
      [p2 - CHUNK, p2 + 10], // the last full chunk of part 2 into part 3
      [p2 - 1, whole.length - 1], // across into the small last part, to the end
      [CHUNK - 1, 3 * CHUNK], // chunk boundaries inside part 1
      [0, whole.length - 1],
    ];
    for (const [start, end] of ranges) {
      expect((await bytesOf(s3, `bytes=${start}-${end}`)).equals(whole.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  }, 180_000);
});
