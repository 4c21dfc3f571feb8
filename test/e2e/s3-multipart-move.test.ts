import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyProjections } from '../../projections/rebuild.js';
import { findProjections } from '../../projections/registry.js';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { expectConsistent, failure, md5Hex, patternBytes } from '../support/s3-e2e.js';

/**
 * A multipart upload whose next part does not fit on its backend any more (other writes filled
 * it meanwhile) moves, with its parts so far, to a backend with room, instead of answering 507;
 * the move is recorded on the upload's stream, the quota counts the parts where they are, and
 * Complete assembles the object on the new backend.
 */

const MiB = 1024 * 1024;

async function usage(stack: TestStack): Promise<Record<string, { used: number; pending: number; orphan: number }>> {
  const res = await stack.db.pool.query<{ backend: string; bytes_used: string; pending_bytes: string; orphan_bytes: string }>('SELECT * FROM backend_usage ORDER BY backend');
  return Object.fromEntries(res.rows.map((r) => [r.backend, { used: Number(r.bytes_used), pending: Number(r.pending_bytes), orphan: Number(r.orphan_bytes) }]));
}

async function uploadBackend(stack: TestStack, uploadId: string): Promise<string | undefined> {
  return (await stack.db.pool.query<{ backend: string }>('SELECT backend FROM multipart_uploads WHERE upload_id = $1', [uploadId])).rows[0]?.backend;
}

async function part(s3: S3Client, key: string, uploadId: string, n: number, body: Buffer): Promise<{ PartNumber: number; ETag: string }> {
  const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: n, Body: body }));
  return { PartNumber: n, ETag: ETag as string };
}

describeOnEachBackend('a multipart upload moves to a backend with room for its next part', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 16 * MiB }, { quota: 12 * MiB }], on });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  it('moves the parts so far when b1 fills up, and completes on b2', async () => {
    const bodies = [patternBytes(5 * MiB, 1), patternBytes(5 * MiB, 2), patternBytes(MiB, 3)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'mv/big' }));
    const uploadId = UploadId as string;
    expect(await uploadBackend(stack, uploadId)).toBe('b1');
    const parts = [await part(s3, 'mv/big', uploadId, 1, bodies[0] as Buffer)];
    // pack puts an 8 MiB object on b1 too: 3 MiB are left there, too few for the next part.
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'mv/filler', Body: patternBytes(8 * MiB, 4) }));
    expect(await usage(stack)).toMatchObject({ b1: { used: 8 * MiB, pending: 5 * MiB } });
    parts.push(await part(s3, 'mv/big', uploadId, 2, bodies[1] as Buffer));
    expect(await uploadBackend(stack, uploadId)).toBe('b2');
    expect(await usage(stack)).toMatchObject({ b1: { used: 8 * MiB, pending: 0 }, b2: { used: 0, pending: 10 * MiB } });
    // Replaying the log gives the same tables, the moved upload and its parts included.
    expect((await verifyProjections(stack.db.pool, findProjections(undefined))).every((v) => v.identical)).toBe(true);
    parts.push(await part(s3, 'mv/big', uploadId, 3, bodies[2] as Buffer));
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'mv/big', UploadId: uploadId }));
    expect((listed.Parts ?? []).map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual(parts.map((p, i) => [p.PartNumber, bodies[i]?.length, p.ETag]));

    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'mv/big', UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    expect(done.ETag).toMatch(/-3"$/);
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'mv/big' }))).Body!.transformToByteArray());
    expect(md5Hex(got)).toBe(md5Hex(Buffer.concat(bodies)));
    const copies = (await stack.db.pool.query<{ backend: string }>("SELECT backend FROM object_copies WHERE key = 'mv/big'")).rows;
    expect(copies).toEqual([{ backend: 'b2' }]);
    const history = (await stack.db.pool.query<{ type: string; data: { from?: string; backend?: string } }>(
      'SELECT type, data FROM events WHERE stream_id = $1 ORDER BY revision', [`upload-${uploadId}`],
    )).rows;
    expect(history.map((e) => e.type)).toEqual(['MultipartUploadCreated', 'PartUploaded', 'MultipartUploadMoved', 'PartUploaded', 'PartUploaded', 'MultipartUploadCompleted']);
    expect(history[2]?.data).toMatchObject({ from: 'b1', backend: 'b2' });
    // The parts' assembled copy left on b1 is reclaimed; usage is the live copies alone.
    await expectConsistent(stack);
    expect(await usage(stack)).toEqual({ b1: { used: 8 * MiB, pending: 0, orphan: 0 }, b2: { used: 11 * MiB, pending: 0, orphan: 0 } });
  });

  it('a part that fits on no backend beside the upload\'s parts is 507, and the upload goes on where it was', async () => {
    // b1 has 8 MiB left, b2 1 MiB.
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'mv/stays' }));
    const uploadId = UploadId as string;
    expect(await uploadBackend(stack, uploadId)).toBe('b1');
    const first = await part(s3, 'mv/stays', uploadId, 1, patternBytes(5 * MiB, 5));
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mv/stays', UploadId: uploadId, PartNumber: 2, Body: patternBytes(5 * MiB, 6) }))))
      .toMatchObject({ name: 'InsufficientStorage', status: 507 });
    expect(await uploadBackend(stack, uploadId)).toBe('b1');
    const second = await part(s3, 'mv/stays', uploadId, 2, patternBytes(2 * MiB, 7));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'mv/stays', UploadId: uploadId, MultipartUpload: { Parts: [first, second] } }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'mv/stays' }))).Body!.transformToByteArray());
    expect(md5Hex(got)).toBe(md5Hex(Buffer.concat([patternBytes(5 * MiB, 5), patternBytes(2 * MiB, 7)])));
    await expectConsistent(stack);
  });
});
