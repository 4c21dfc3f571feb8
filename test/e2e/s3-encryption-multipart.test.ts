import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EncryptionEnvelope } from '../../domain/encryption/envelope.js';
import { CHUNK_TAG_BYTES, segmentStoredSize } from '../../domain/encryption/layout.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { bytesOf, rawCopies, type CopyRow } from '../support/raw-copies.js';
import { expectConsistent, md5Hex, multipartEtag } from '../support/s3-e2e.js';

const CHUNK = 4096;
const MiB = 1024 * 1024;
const MARKER = 'PLAINTEXT-MARKER-mp-91c2';

/** `size` bytes that repeat the marker (with the seed), so any stored plaintext shows. */
function marked(size: number, seed: number): Buffer {
  const unit = Buffer.from(`${MARKER}:${seed}:`);
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, size - at));
  return out;
}

const encryptionYaml = (key: string, enabled: boolean) =>
  ['encryption:', `  enabled: ${enabled}`, `  master_key: "${key}"`, `  chunk_size: ${CHUNK}`, 'replication:', '  factor: 2', '  worker_interval: 1h'].join('\n');

async function upload(s3: S3Client, key: string, parts: readonly Buffer[]): Promise<{ uploadId: string; etag: string | undefined }> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key }));
  const uploadId = UploadId as string;
  const done = [];
  for (const [i, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body }));
    done.push({ PartNumber: i + 1, ETag: ETag as string });
  }
  const res = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
  return { uploadId, etag: res.ETag };
}

/**
 * Multipart uploads with encryption at rest: each part is encrypted as it arrives (its own
 * segment under the upload's data key), Complete assembles the segments without re-encrypting,
 * and reads decrypt only the chunks a range covers, across part boundaries too.
 */
describeOnEachBackend('multipart uploads with encryption at rest', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  let raw: ReturnType<typeof rawCopies>;
  const key = randomBytes(32).toString('base64');
  // Part 1 ends inside a chunk, part 2 on a chunk boundary; part 3 is small.
  const parts = [marked(5 * MiB + 1000, 1), marked(5 * MiB, 2), marked(3 * CHUNK + 77, 3)];
  const whole = Buffer.concat(parts);
  const plainSource = marked(300_000, 9);
  let openedPlain: { uploadId: string; part: { PartNumber: number; ETag: string } };

  beforeAll(async () => {
    // Three backends, each copy replicated to a second: a drain has somewhere to move to.
    stack = await startStack({ backends: [{ quota: 0 }, { quota: 0 }, { quota: 0 }], on, extraYaml: encryptionYaml(key, false) });
    s3 = stack.client('alpha');
    // Before encryption is on: a plaintext object and an upload opened in plaintext.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'plain-src', Body: plainSource }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'opened-plain' }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'opened-plain', UploadId, PartNumber: 1, Body: plainSource }));
    openedPlain = { uploadId: UploadId as string, part: { PartNumber: 1, ETag: ETag as string } };
    await stack.restart(encryptionYaml(key, true));
    s3 = stack.client('alpha');
    raw = rawCopies(stack);
  });
  afterAll(async () => stack?.stop());

  const get = (name: string, range?: string) => s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: name, ...(range ? { Range: range } : {}) }));
  const envelopeOf = async (name: string): Promise<EncryptionEnvelope | null> =>
    (await stack.db.pool.query<{ encryption: EncryptionEnvelope | null }>('SELECT encryption FROM objects WHERE bucket = $1 AND key = $2', ['alpha', name])).rows[0]?.encryption ?? null;
  const pending = async (): Promise<number> =>
    Number((await stack.db.pool.query<{ n: string }>('SELECT coalesce(sum(pending_bytes), 0) AS n FROM backend_usage')).rows[0]?.n);

  it('each part is stored encrypted as it arrives; Complete keeps the client ETag and sizes, the backend holds only ciphertext', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp' }));
    const uploadId = UploadId as string;
    const created = (await stack.db.pool.query<{ data: { encryption: { chunkSize: number; headerLength: number; key: { keyAlias: string } } } }>(
      "SELECT data FROM events WHERE stream_id = $1 AND type = 'MultipartUploadCreated'", [`upload-${uploadId}`],
    )).rows[0]?.data.encryption;
    expect(created).toMatchObject({ format: 2, chunkSize: CHUNK, key: { keyAlias: 'config-0', wrapScheme: 'aes256-kw' } });
    const headerLength = created?.headerLength as number;
    const storedOf = (size: number) => segmentStoredSize(size, CHUNK, headerLength);
    const pendingBefore = await pending();
    const done = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId, PartNumber: i + 1, Body: body }));
      expect(ETag).toBe(`"${md5Hex(body)}"`);
      done.push({ PartNumber: i + 1, ETag: ETag as string });
    }
    // Pending bytes are the parts as stored; ListParts shows the client's sizes.
    expect(await pending() - pendingBefore).toBe(parts.reduce((n, p) => n + storedOf(p.length), 0));
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId }));
    expect((listed.Parts ?? []).map((p) => p.Size)).toEqual(parts.map((p) => p.length));
    const recorded = (await stack.db.pool.query<{ data: { storedSize: number; salt: string; size: number } }>(
      "SELECT data FROM events WHERE stream_id = $1 AND type = 'PartUploaded' ORDER BY revision", [`upload-${uploadId}`],
    )).rows.map((r) => r.data);
    expect(recorded.map((p) => [p.size, p.storedSize])).toEqual(parts.map((p) => [p.length, storedOf(p.length)]));
    expect(new Set(recorded.map((p) => p.salt)).size).toBe(3);

    const res = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp', UploadId: uploadId, MultipartUpload: { Parts: done } }));
    expect(res.ETag).toBe(`"${multipartEtag(parts)}"`);
    expect(await pending()).toBe(pendingBefore);
    const got = await get('mp');
    expect(got.ETag).toBe(`"${multipartEtag(parts)}"`);
    expect(got.ContentLength).toBe(whole.length);
    expect((await bytesOf(Promise.resolve(got))).equals(whole)).toBe(true);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'mp' }))).ContentLength).toBe(whole.length);
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'mp' }));
    expect(listing.Contents?.map((o) => o.Size)).toEqual([whole.length]);
    // The version's envelope: the upload's key, one segment per part with its salt.
    const envelope = await envelopeOf('mp');
    expect(envelope?.segments).toEqual(recorded.map((p, i) => ({ partNumber: i + 1, plainSize: p.size, salt: p.salt })));
    const [copy] = await raw.copiesOf('alpha', 'mp');
    if (!copy) throw new Error('no copy');
    expect(Number(copy.size)).toBe(parts.reduce((n, p) => n + storedOf(p.length), 0));
    const stored = await raw.rawGet(copy);
    expect(stored.length).toBe(Number(copy.size));
    expect(stored.includes(MARKER)).toBe(false);
    // Each part's segment starts with its own header.
    expect(stored.subarray(storedOf(parts[0]?.length as number)).subarray(0, 4).toString('latin1')).toBe('SENC');
    await expectConsistent(stack);
  });

  it('ranges at and across chunk and part boundaries return exactly those bytes', async () => {
    const p1 = parts[0]?.length as number;
    const p2 = p1 + (parts[1]?.length as number);
    const ranges: [number, number][] = [
      [0, 0], [CHUNK - 1, CHUNK], [p1 - 1, p1 - 1], [p1 - 1, p1], [p1, p1], [p1 - 1000, p1 + CHUNK + 1],
      [p2 - 1, p2], [p2 - CHUNK, p2 + CHUNK - 1], [p1 - 5, p2 + 5], [100, whole.length - 1], [whole.length - 1, whole.length - 1],
      [p2, whole.length - 1],
    ];
    for (const [start, end] of ranges) {
      const got = await get('mp', `bytes=${start}-${end}`);
      expect(got.ContentRange).toBe(`bytes ${start}-${end}/${whole.length}`);
      expect((await bytesOf(Promise.resolve(got))).equals(whole.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    expect((await bytesOf(get('mp', 'bytes=-9000'))).equals(whole.subarray(-9000))).toBe(true);
  });

  it('UploadPartCopy from an encrypted and from a plaintext source makes encrypted parts of the source bytes', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'copied' }));
    const p1 = parts[0]?.length as number;
    // Across the part boundary of the encrypted source.
    const span = [p1 - 5 * MiB + 10, p1 + 9] as const;
    const first = await s3.send(new UploadPartCopyCommand({
      Bucket: 'alpha', Key: 'copied', UploadId, PartNumber: 1, CopySource: 'alpha/mp', CopySourceRange: `bytes=${span[0]}-${span[1]}`,
    }));
    const second = await s3.send(new UploadPartCopyCommand({ Bucket: 'alpha', Key: 'copied', UploadId, PartNumber: 2, CopySource: 'alpha/plain-src' }));
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'alpha', Key: 'copied', UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.CopyPartResult?.ETag }, { PartNumber: 2, ETag: second.CopyPartResult?.ETag }] },
    }));
    const expected = Buffer.concat([whole.subarray(span[0], span[1] + 1), plainSource]);
    expect((await bytesOf(get('copied'))).equals(expected)).toBe(true);
    expect((await envelopeOf('copied'))?.segments.map((s) => s.partNumber)).toEqual([1, 2]);
    for (const copy of await raw.copiesOf('alpha', 'copied')) expect((await raw.rawGet(copy)).includes(MARKER)).toBe(false);
  });

  it('an upload opened before encryption was on completes as plaintext, as it began', async () => {
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'alpha', Key: 'opened-plain', UploadId: openedPlain.uploadId, MultipartUpload: { Parts: [openedPlain.part] },
    }));
    expect(await envelopeOf('opened-plain')).toBeNull();
    expect((await bytesOf(get('opened-plain'))).equals(plainSource)).toBe(true);
    expect((await bytesOf(get('opened-plain', 'bytes=1000-2000'))).equals(plainSource.subarray(1000, 2001))).toBe(true);
  });

  it('damaged ciphertext on every copy is detected, never served: flipped, swapped and duplicated parts, truncation at a chunk and at a part boundary', async () => {
    const copies = await raw.copiesOf('alpha', 'mp');
    const stored = await raw.rawGet(copies[0] as CopyRow);
    const envelope = await envelopeOf('mp') as EncryptionEnvelope;
    const [s1, s2] = envelope.segments.map((s) => segmentStoredSize(s.plainSize, CHUNK, envelope.headerLength)) as [number, number];
    const [part1, part2, part3] = [stored.subarray(0, s1), stored.subarray(s1, s1 + s2), stored.subarray(s1 + s2)];
    const p1 = parts[0]?.length as number;
    const p2 = p1 + (parts[1]?.length as number);
    const flipped = Buffer.from(stored);
    flipped[s1 + envelope.headerLength + 100] = (flipped[s1 + envelope.headerLength + 100] as number) ^ 1;
    // Each with a range that covers the damage (a range elsewhere rightly reads intact chunks).
    const damaged: Record<string, [Buffer, string]> = {
      'flipped bit in part 2': [flipped, `bytes=${p1}-${p1 + 10}`],
      'parts 1 and 2 swapped': [Buffer.concat([part2, part1, part3]), 'bytes=0-10'],
      'part 1 in place of part 2': [Buffer.concat([part1, part1, part3]), `bytes=${p1 - 10}-${p1 + 10}`],
      'truncated at a chunk boundary of part 1': [stored.subarray(0, envelope.headerLength + 3 * (CHUNK + CHUNK_TAG_BYTES)), `bytes=${2 * CHUNK}-${4 * CHUNK}`],
      'truncated at the part boundary before part 3': [Buffer.concat([part1, part2]), `bytes=${p2 - 10}-${p2 + 10}`],
    };
    try {
      for (const [how, [bytes, range]] of Object.entries(damaged)) {
        for (const copy of copies) await raw.rawPut(copy, bytes);
        // An error before the body (500/503), or a body that ends early: never the bytes.
        // One read at a time: a second request started early would reject unobserved.
        for (const read of [() => get('mp'), () => get('mp', range)]) {
          const outcome = await bytesOf(read()).catch((err: unknown) => err);
          expect(outcome, how).toBeInstanceOf(Error);
        }
      }
    } finally {
      for (const copy of copies) await raw.rawPut(copy, stored);
    }
    expect((await bytesOf(get('mp'))).equals(whole)).toBe(true);
  });

  it('replication and a drain copy the ciphertext as it is: the moved copy is the same bytes and still reads', async () => {
    await upload(s3, 'replicated', [parts[0] as Buffer, parts[2] as Buffer]);
    const expected = Buffer.concat([parts[0] as Buffer, parts[2] as Buffer]);
    expect(await stack.orchestrator.workers.replication.runOnce()).toMatchObject({ status: 'ok' });
    expect(await raw.copiesOf('alpha', 'replicated')).toHaveLength(2);
    const before = await raw.copiesOf('alpha', 'replicated');
    const original = await raw.rawGet(before[0] as { backend: string; storage_key: string });
    expect((await raw.rawGet(before[1] as { backend: string; storage_key: string })).equals(original)).toBe(true);
    const drained = (before[0] as { backend: string }).backend;
    const admin = stack.orchestrator.services.backendAdmin;
    await admin.startDrain(drained, { actor: 'operator:test' });
    await expect.poll(async () => (await admin.drainStatus(drained)).state, { timeout: 60_000, interval: 300 }).toBe('drained');
    const after = await raw.copiesOf('alpha', 'replicated');
    expect(after.map((c) => c.backend)).not.toContain(drained);
    expect(after).toHaveLength(2);
    for (const copy of after) expect((await raw.rawGet(copy)).equals(original), copy.backend).toBe(true);
    expect((await bytesOf(get('replicated'))).equals(expected)).toBe(true);
    expect((await bytesOf(get('mp'))).equals(whole)).toBe(true);
    await expectConsistent(stack);
  });
});
