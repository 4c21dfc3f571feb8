import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import {
  errorCode, expectConsistent, failure, md5Hex, multipartEtag, objectEventTypes, openSignedUpload, parseErrorXml, patternBytes, signedRequest,
} from '../support/s3-e2e.js';

const MiB = 1024 * 1024;
const bytesOf = async (p: Promise<{ Body?: unknown }>): Promise<Buffer> =>
  Buffer.from(await ((await p).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

/** The multipart family on the backends' native multipart uploads. */
describeOnEachBackend('S3 multipart uploads', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  const part1 = patternBytes(5 * MiB, 11);
  const part2 = patternBytes(5 * MiB + 17, 12);
  const part3 = patternBytes(1000, 13);

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on });
    s3 = stack.client('alpha');
  });
  afterAll(async () => stack?.stop());

  const create = async (key: string, extra: Record<string, unknown> = {}): Promise<string> =>
    (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key, ...extra }))).UploadId as string;
  const upload = async (key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> =>
    (await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }))).ETag as string;
  const complete = (key: string, uploadId: string, parts: { PartNumber: number; ETag: string }[]) =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  const pending = async (): Promise<number> =>
    Number((await stack.db.pool.query<{ p: string }>('SELECT coalesce(sum(pending_bytes), 0) AS p FROM backend_usage')).rows[0]?.p);

  it('create, upload parts, list them, complete: the object is the parts in order with the S3 multipart ETag', async () => {
    const key = 'big/assembled.bin';
    const uploadId = await create(key, { ContentType: 'video/mp4', Metadata: { origin: 'camera' }, CacheControl: 'no-cache' });
    expect(uploadId).toMatch(/^[0-9A-Za-z]+$/);
    const e1 = await upload(key, uploadId, 1, part1);
    const e2 = await upload(key, uploadId, 2, part2);
    const e3 = await upload(key, uploadId, 3, part3);
    expect([e1, e2, e3]).toEqual([part1, part2, part3].map((p) => `"${md5Hex(p)}"`));
    // Part bytes count against the backend as they arrive.
    expect(await pending()).toBe(part1.length + part2.length + part3.length);

    const listed = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, e1, part1.length], [2, e2, part2.length], [3, e3, part3.length]]);
    expect(listed.IsTruncated).toBe(false);

    const done = await complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }, { PartNumber: 3, ETag: e3 }]);
    expect(done.ETag).toBe(`"${multipartEtag([part1, part2, part3])}"`);
    expect(done.Key).toBe(key);
    expect(done.Bucket).toBe('alpha');
    expect(await pending()).toBe(0);

    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
    expect(got.ETag).toBe(done.ETag);
    expect(got.ContentType).toBe('video/mp4');
    expect(got.CacheControl).toBe('no-cache');
    expect(got.Metadata).toEqual({ origin: 'camera' });
    expect((await bytesOf(Promise.resolve(got))).equals(Buffer.concat([part1, part2, part3]))).toBe(true);

    // GET/HEAD ?partNumber=N serve one part, with the parts count.
    const head2 = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: 2 }));
    expect(head2.ContentLength).toBe(part2.length);
    expect(head2.PartsCount).toBe(3);
    const got3 = await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: 3 })));
    expect(got3.equals(part3)).toBe(true);

    // The upload is gone once completed.
    expect(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId })))).toBe('NoSuchUpload');
    expect(await objectEventTypes(stack, 'alpha', key)).toEqual(['ObjectWritten']);
    const uploadEvents = await stack.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`upload-${uploadId}`]);
    expect(uploadEvents.rows.map((r) => r.type)).toEqual(['MultipartUploadCreated', 'PartUploaded', 'PartUploaded', 'PartUploaded', 'MultipartUploadCompleted']);
  });

  it('Complete validates the part list: InvalidPart, InvalidPartOrder, EntityTooSmall — and the upload survives each', async () => {
    const key = 'big/validated.bin';
    const uploadId = await create(key);
    const small = patternBytes(1024, 21);
    const e1 = await upload(key, uploadId, 1, small);
    const e2 = await upload(key, uploadId, 2, part3);
    // A part never uploaded (s3rver would crash on it: the gateway checks before calling the backend).
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }, { PartNumber: 7, ETag: e2 }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    // A wrong ETag.
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: `"${md5Hex('other')}"` }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    // Out of order, and repeated.
    expect(await failure(complete(key, uploadId, [{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }, { PartNumber: 1, ETag: e1 }]))).toMatchObject({ name: 'InvalidPartOrder' });
    // A non-last part under 5 MiB.
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]))).toMatchObject({ name: 'EntityTooSmall', status: 400 });
    // No parts at all.
    expect(await failure(complete(key, uploadId, []))).toMatchObject({ name: 'MalformedXML', status: 400 });
    expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key })))).toBe('NotFound');

    // Replace part 1 with a full-size part; a single-part subset may be completed.
    const big1 = await upload(key, uploadId, 1, part1);
    const done = await complete(key, uploadId, [{ PartNumber: 1, ETag: big1 }, { PartNumber: 2, ETag: e2 }]);
    expect(done.ETag).toBe(`"${multipartEtag([part1, part3])}"`);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })))).equals(Buffer.concat([part1, part3]))).toBe(true);
    expect(await pending()).toBe(0);
  });

  it('part checksums named in Complete must be the ones the parts were uploaded with', async () => {
    const key = 'checksummed';
    const uploadId = await create(key, { ChecksumAlgorithm: 'CRC32' });
    const res = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 1, Body: part3, ChecksumAlgorithm: 'CRC32' }));
    expect(res.ChecksumCRC32).toBeTruthy();
    const wrong = { PartNumber: 1, ETag: res.ETag as string, ChecksumCRC32: 'AAAAAA==' };
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MultipartUpload: { Parts: [wrong] } }))))
      .toMatchObject({ name: 'InvalidPart', status: 400 });
    const right = { PartNumber: 1, ETag: res.ETag as string, ChecksumCRC32: res.ChecksumCRC32 as string };
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MultipartUpload: { Parts: [right] } }));
    expect(done.ETag).toBe(`"${multipartEtag([part3])}"`);
  });

  it('a single small part completes (the last part has no minimum)', async () => {
    const key = 'small/one-part';
    const uploadId = await create(key);
    const e1 = await upload(key, uploadId, 1, Buffer.from('tiny'));
    const done = await complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }]);
    expect(done.ETag).toBe(`"${multipartEtag([Buffer.from('tiny')])}"`);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }))).Body?.transformToString()).toBe('tiny');
  });

  it('part numbers outside 1..10000 are 400 InvalidArgument', async () => {
    const uploadId = await create('bad-part-number');
    const alpha = stack.buckets[0] as TestBucket;
    for (const n of ['0', '10001', 'x']) {
      const res = await signedRequest(stack, alpha, { method: 'PUT', path: '/alpha/bad-part-number', query: { partNumber: n, uploadId }, body: 'x' });
      expect(res.status, n).toBe(400);
      expect(parseErrorXml(res.text).Code, n).toBe('InvalidArgument');
    }
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'bad-part-number', UploadId: uploadId }));
  });

  it('Abort: 204, the upload is gone and its pending bytes are released', async () => {
    const key = 'aborted.bin';
    const uploadId = await create(key);
    await upload(key, uploadId, 1, part3);
    expect(await pending()).toBe(part3.length);
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(await pending()).toBe(0);
    expect(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId })))).toBe('NoSuchUpload');
    expect(await errorCode(upload(key, uploadId, 2, part3))).toBe('NoSuchUpload');
    expect(await errorCode(complete(key, uploadId, [{ PartNumber: 1, ETag: `"${md5Hex(part3)}"` }]))).toBe('NoSuchUpload');
    expect(await errorCode(s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId })))).toBe('NoSuchUpload');
    // (s3rver cannot abort (405): the backend's own upload is left to it; on real S3 the abort is confirmed.)
    const events = await stack.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`upload-${uploadId}`]);
    expect(events.rows.map((r) => r.type)).toEqual(['MultipartUploadCreated', 'PartUploaded', 'MultipartUploadAborted']);
  });

  it('Complete and Abort racing on one upload: exactly one wins, the other is NoSuchUpload (ten rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const key = `race/${round}`;
      const uploadId = await create(key);
      const e1 = await upload(key, uploadId, 1, part3);
      const [completed, aborted] = await Promise.allSettled([
        complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }]),
        s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId })),
      ]);
      const outcomes = [completed, aborted].map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).name));
      expect(outcomes.filter((o) => o === 'ok'), `round ${round}: ${outcomes.join(', ')}`).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'ok'), `round ${round}`).toEqual(['NoSuchUpload']);
      const ended = await stack.db.pool.query<{ type: string }>(
        `SELECT type FROM events WHERE stream_id = $1 AND type IN ('MultipartUploadCompleted', 'MultipartUploadAborted')`, [`upload-${uploadId}`],
      );
      if (completed.status === 'fulfilled') {
        expect(ended.rows.map((r) => r.type)).toEqual(['MultipartUploadCompleted']);
        expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })))).equals(part3)).toBe(true);
      } else {
        expect(ended.rows.map((r) => r.type)).toEqual(['MultipartUploadAborted']);
        expect(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key })))).toBe('NotFound');
      }
    }
    expect(await pending()).toBe(0);
  });

  it('a retried Complete of a completed upload: the same parts answer 200 with the same ETag, other parts NoSuchUpload', async () => {
    const key = 'retried/complete.bin';
    const uploadId = await create(key);
    const e1 = await upload(key, uploadId, 1, part1);
    const e2 = await upload(key, uploadId, 2, part3);
    const parts = [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }];
    const first = await complete(key, uploadId, parts);
    expect(first.ETag).toBe(`"${multipartEtag([part1, part3])}"`);
    const again = await complete(key, uploadId, parts);
    expect(again.$metadata.httpStatusCode).toBe(200);
    expect(again.ETag).toBe(first.ETag);
    // ETags compare without their quotes, as in a first Complete.
    expect((await complete(key, uploadId, parts.map((p) => ({ ...p, ETag: p.ETag.replace(/"/g, '') })))).ETag).toBe(first.ETag);
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: e1 }]))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(complete(key, uploadId, [{ PartNumber: 1, ETag: e2 }, { PartNumber: 2, ETag: e2 }]))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    // Only ever completed once: one version, no second commit.
    expect(await objectEventTypes(stack, 'alpha', key)).toEqual(['ObjectWritten']);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })))).equals(Buffer.concat([part1, part3]))).toBe(true);
    // Still scoped to its bucket and key.
    expect(await errorCode(complete('retried/other', uploadId, parts))).toBe('NoSuchUpload');
  });

  it('a part uploaded again while an earlier upload of it is in flight: both succeed, the last to finish is the part, Complete takes the ETag the client got last', async () => {
    const key = 'resend/part.bin';
    const uploadId = await create(key);
    const alpha = stack.buckets[0] as TestBucket;
    const multipart = stack.orchestrator.services.multipart;
    const first = patternBytes(6 * MiB, 41);
    const second = patternBytes(6 * MiB + 3, 42);
    const e2 = await upload(key, uploadId, 2, part3);
    const pendingBefore = await pending();
    // The first upload of part 1 sends half its body and stalls, as a client whose connection hangs.
    const stalled = await openSignedUpload(stack, alpha, {
      method: 'PUT', path: `/alpha/${key}`, query: { partNumber: '1', uploadId }, headers: { 'content-length': String(first.length) },
    });
    await stalled.write(first.subarray(0, 3 * MiB));
    await expect.poll(() => multipart.partUploadAttempts(uploadId, 1), { timeout: 20_000 }).toBe(1);
    // The client uploads part 1 again meanwhile: that upload waits for the first to settle.
    const resent = upload(key, uploadId, 1, second);
    await expect.poll(() => multipart.partUploadAttempts(uploadId, 1), { timeout: 20_000 }).toBe(2);
    // The first upload's rest arrives: it succeeds, then the resent one does, which finished last.
    const late = await stalled.end(first.subarray(3 * MiB));
    expect(late.status, late.text).toBe(200);
    expect(late.headers.etag).toBe(`"${md5Hex(first)}"`);
    const lastEtag = await resent;
    expect(lastEtag).toBe(`"${md5Hex(second)}"`);
    expect(multipart.partUploadAttempts(uploadId, 1)).toBe(0);

    const listed = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, lastEtag, second.length], [2, e2, part3.length]]);
    // The superseded upload's bytes count no more: part 1 is pending once, at its last size.
    expect(await pending()).toBe(pendingBefore + second.length);
    // The ETag of the superseded upload is no part any more; the upload stays open.
    expect(await errorCode(complete(key, uploadId, [{ PartNumber: 1, ETag: late.headers.etag as string }, { PartNumber: 2, ETag: e2 }]))).toBe('InvalidPart');
    const done = await complete(key, uploadId, [{ PartNumber: 1, ETag: lastEtag }, { PartNumber: 2, ETag: e2 }]);
    expect(done.ETag).toBe(`"${multipartEtag([second, part3])}"`);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })))).equals(Buffer.concat([second, part3]))).toBe(true);
    expect(await pending()).toBe(pendingBefore - part3.length);
  });

  it('an upload id works only with the bucket and key it was created for', async () => {
    const uploadId = await create('scoped/key');
    const e1 = await upload('scoped/key', uploadId, 1, part3);
    expect(await errorCode(upload('scoped/other', uploadId, 1, part3))).toBe('NoSuchUpload');
    expect(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'scoped/other', UploadId: uploadId })))).toBe('NoSuchUpload');
    expect(await errorCode(complete('scoped/other', uploadId, [{ PartNumber: 1, ETag: e1 }]))).toBe('NoSuchUpload');
    expect(await errorCode(s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'scoped/other', UploadId: uploadId })))).toBe('NoSuchUpload');
    const beta = stack.client('beta');
    expect(await errorCode(beta.send(new UploadPartCommand({ Bucket: 'beta', Key: 'scoped/key', UploadId: uploadId, PartNumber: 1, Body: part3 })))).toBe('NoSuchUpload');
    expect(await errorCode(beta.send(new CompleteMultipartUploadCommand({
      Bucket: 'beta', Key: 'scoped/key', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }] },
    })))).toBe('NoSuchUpload');
    expect(await errorCode(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'scoped/key', UploadId: 'NOSUCHUPLOADID' })))).toBe('NoSuchUpload');
    // Still intact for its own key.
    const done = await complete('scoped/key', uploadId, [{ PartNumber: 1, ETag: e1 }]);
    expect(done.ETag).toBe(`"${multipartEtag([part3])}"`);
    expect(await errorCode(beta.send(new HeadObjectCommand({ Bucket: 'beta', Key: 'scoped/key' })))).toBe('NotFound');
  });

  it('ListParts pages with max-parts and part-number-marker', async () => {
    const key = 'paged-parts';
    const uploadId = await create(key);
    const etags: string[] = [];
    for (let n = 1; n <= 5; n++) etags.push(await upload(key, uploadId, n, Buffer.from(`part ${n}`)));
    const first = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MaxParts: 2 }));
    expect(first.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(first.IsTruncated).toBe(true);
    expect(first.NextPartNumberMarker).toBe('2');
    expect(first.MaxParts).toBe(2);
    const second = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MaxParts: 2, PartNumberMarker: first.NextPartNumberMarker }));
    expect(second.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([[3, etags[2]], [4, etags[3]]]);
    const third = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MaxParts: 2, PartNumberMarker: second.NextPartNumberMarker }));
    expect(third.Parts?.map((p) => p.PartNumber)).toEqual([5]);
    expect(third.IsTruncated).toBe(false);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId }));
  });

  it('ListMultipartUploads (served from our tables; s3rver has none) with prefix, key-marker and upload-id-marker', async () => {
    const ids = new Map<string, string[]>();
    for (const key of ['lmu/a', 'lmu/b', 'lmu/b', 'lmu/c/d', 'other/x']) {
      const id = await create(key);
      ids.set(key, [...(ids.get(key) ?? []), id]);
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha', Prefix: 'lmu/' }));
    const expected = [['lmu/a', ids.get('lmu/a')?.[0]], ...[...(ids.get('lmu/b') ?? [])].sort().map((id) => ['lmu/b', id]), ['lmu/c/d', ids.get('lmu/c/d')?.[0]]];
    expect(all.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual(expected);
    expect(all.IsTruncated).toBe(false);
    expect(all.Uploads?.[0]?.Initiated).toBeInstanceOf(Date);

    const page1 = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha', Prefix: 'lmu/', MaxUploads: 2 }));
    expect(page1.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual(expected.slice(0, 2));
    expect(page1.IsTruncated).toBe(true);
    expect(page1.NextKeyMarker).toBe('lmu/b');
    const page2 = await s3.send(new ListMultipartUploadsCommand({
      Bucket: 'alpha', Prefix: 'lmu/', MaxUploads: 2, KeyMarker: page1.NextKeyMarker, UploadIdMarker: page1.NextUploadIdMarker,
    }));
    expect(page2.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual(expected.slice(2, 4));
    // A key-marker alone skips every upload of that key.
    const afterB = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha', Prefix: 'lmu/', KeyMarker: 'lmu/b' }));
    expect(afterB.Uploads?.map((u) => u.Key)).toEqual(['lmu/c/d']);
    const delimited = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha', Prefix: 'lmu/', Delimiter: '/' }));
    expect(delimited.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['lmu/c/']);
    expect(delimited.Uploads?.map((u) => u.Key)).toEqual(['lmu/a', 'lmu/b', 'lmu/b']);
    // Another bucket's credentials see none of them.
    const beta = await stack.client('beta').send(new ListMultipartUploadsCommand({ Bucket: 'beta' }));
    expect(beta.Uploads ?? []).toEqual([]);
    for (const [key, list] of ids) for (const id of list) await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: key, UploadId: id }));
  });

  it('UploadPartCopy copies a byte range of an object (x-amz-copy-source-range) or all of it', async () => {
    const source = patternBytes(10 * MiB + 5, 31);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'copy/source.bin', Body: source }));
    const key = 'copy/assembled.bin';
    const uploadId = await create(key);
    const c1 = await s3.send(new UploadPartCopyCommand({
      Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 1, CopySource: 'alpha/copy/source.bin', CopySourceRange: `bytes=0-${5 * MiB - 1}`,
    }));
    expect(c1.CopyPartResult?.ETag).toBe(`"${md5Hex(source.subarray(0, 5 * MiB))}"`);
    expect(c1.CopyPartResult?.LastModified).toBeInstanceOf(Date);
    const c2 = await s3.send(new UploadPartCopyCommand({
      Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 2, CopySource: 'alpha/copy/source.bin', CopySourceRange: `bytes=${5 * MiB}-${source.length - 1}`,
    }));
    const c3 = await s3.send(new UploadPartCopyCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 3, CopySource: '/alpha/copy/source.bin' }));
    expect(c3.CopyPartResult?.ETag).toBe(`"${md5Hex(source)}"`);
    // A range the source cannot satisfy is 416 InvalidRange, an inverted one 400 InvalidArgument;
    // a source in another bucket is 403.
    for (const range of [`bytes=0-${source.length}`, `bytes=${source.length}-${source.length + 10}`]) {
      const unsatisfiable = await signedRequest(stack, stack.buckets[0] as TestBucket, {
        method: 'PUT', path: `/alpha/${key}`, query: { partNumber: '4', uploadId },
        headers: { 'x-amz-copy-source': '/alpha/copy/source.bin', 'x-amz-copy-source-range': range },
      });
      expect(unsatisfiable.status, range).toBe(416);
      expect(parseErrorXml(unsatisfiable.text), range).toMatchObject({ Code: 'InvalidRange', ActualObjectSize: String(source.length) });
    }
    expect(await failure(s3.send(new UploadPartCopyCommand({
      Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 4, CopySource: 'alpha/copy/source.bin', CopySourceRange: `bytes=0-${source.length}`,
    })))).toMatchObject({ name: 'InvalidRange', status: 416 });
    expect(await failure(s3.send(new UploadPartCopyCommand({
      Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 4, CopySource: 'alpha/copy/source.bin', CopySourceRange: 'bytes=9-5',
    })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new UploadPartCopyCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 4, CopySource: 'beta/anything' }))))
      .toMatchObject({ status: 403 });
    expect(await failure(s3.send(new UploadPartCopyCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 4, CopySource: 'alpha/missing' }))))
      .toMatchObject({ name: 'NoSuchKey', status: 404 });
    const done = await complete(key, uploadId, [
      { PartNumber: 1, ETag: c1.CopyPartResult?.ETag as string },
      { PartNumber: 2, ETag: c2.CopyPartResult?.ETag as string },
      { PartNumber: 3, ETag: c3.CopyPartResult?.ETag as string },
    ]);
    expect(done.ETag).toBe(`"${multipartEtag([source.subarray(0, 5 * MiB), source.subarray(5 * MiB), source])}"`);
    const got = await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key })));
    expect(got.equals(Buffer.concat([source, source]))).toBe(true);
  });

  it('GET/HEAD ?partNumber=N: part 1 of a single-part object and each part of a multipart one, with x-amz-mp-parts-count; a part the object lacks is 400 InvalidPartNumber', async () => {
    const single = patternBytes(3000, 51);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'parts/single', Body: single }));
    const one = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'parts/single', PartNumber: 1 }));
    expect(one.PartsCount).toBe(1);
    expect(one.ContentLength).toBe(single.length);
    expect((await bytesOf(Promise.resolve(one))).equals(single)).toBe(true);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'parts/single', PartNumber: 1 })))).toMatchObject({ PartsCount: 1, ContentLength: single.length });

    const key = 'parts/multi';
    const uploadId = await create(key);
    const bodies = [part1, part2, part3];
    const etags: string[] = [];
    for (const [i, body] of bodies.entries()) etags.push(await upload(key, uploadId, i + 1, body));
    await complete(key, uploadId, etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })));
    for (const [i, body] of bodies.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: i + 1 }));
      expect(got.PartsCount, `part ${i + 1}`).toBe(3);
      expect(got.ContentLength, `part ${i + 1}`).toBe(body.length);
      expect((await bytesOf(Promise.resolve(got))).equals(body), `part ${i + 1}`).toBe(true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: i + 1 }));
      expect(head).toMatchObject({ PartsCount: 3, ContentLength: body.length });
    }

    const alpha = stack.buckets[0] as TestBucket;
    for (const [objectKey, n] of [['parts/single', 2], [key, 4], [key, 10000]] as const) {
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: objectKey, PartNumber: n })))).toMatchObject({ name: 'InvalidPartNumber', status: 400 });
      expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: objectKey, PartNumber: n })))).status).toBe(400);
      const raw = await signedRequest(stack, alpha, { method: 'GET', path: `/alpha/${objectKey}`, query: { partNumber: String(n) } });
      expect(parseErrorXml(raw.text).Code).toBe('InvalidPartNumber');
    }
    // An empty last part is served as an empty body, not as the whole object.
    const withEmpty = await create('parts/empty-last');
    const firstOfTwo = await upload('parts/empty-last', withEmpty, 1, part1);
    const empty = await upload('parts/empty-last', withEmpty, 2, Buffer.alloc(0));
    await complete('parts/empty-last', withEmpty, [{ PartNumber: 1, ETag: firstOfTwo }, { PartNumber: 2, ETag: empty }]);
    const emptyPart = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'parts/empty-last', PartNumber: 2 }));
    expect(emptyPart).toMatchObject({ PartsCount: 2, ContentLength: 0 });
    expect((await bytesOf(Promise.resolve(emptyPart))).length).toBe(0);
    // Not a part number at all: 400 InvalidArgument, as for UploadPart.
    for (const n of ['0', '10001', 'x']) {
      const raw = await signedRequest(stack, alpha, { method: 'GET', path: `/alpha/${key}`, query: { partNumber: n } });
      expect(raw.status, n).toBe(400);
      expect(parseErrorXml(raw.text).Code, n).toBe('InvalidArgument');
    }
  });

  it('a conditional Complete (If-None-Match: *) onto an existing key is 412 and the upload stays open', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond/mp', Body: 'exists' }));
    const uploadId = await create('cond/mp');
    const e1 = await upload('cond/mp', uploadId, 1, part3);
    const parts = { Parts: [{ PartNumber: 1, ETag: e1 }] };
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'cond/mp', UploadId: uploadId, MultipartUpload: parts, IfNoneMatch: '*' }))))
      .toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond/mp' }))).Body?.transformToString()).toBe('exists');
    const etag = (await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'cond/mp' }))).ETag as string;
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: 'cond/mp', UploadId: uploadId, MultipartUpload: parts, IfMatch: etag }));
    expect(done.ETag).toBe(`"${multipartEtag([part3])}"`);
  });

  it('completing onto an existing key replaces it, and the old bytes are reclaimed', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'replace-me', Body: 'old bytes' }));
    const uploadId = await create('replace-me');
    const e1 = await upload('replace-me', uploadId, 1, part3);
    await complete('replace-me', uploadId, [{ PartNumber: 1, ETag: e1 }]);
    expect((await bytesOf(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'replace-me' })))).equals(part3)).toBe(true);
    expect(await objectEventTypes(stack, 'alpha', 'replace-me')).toEqual(['ObjectWritten', 'ObjectWritten']);
  });

  it('leaves no untracked objects and usage equal to the live copies', async () => {
    // Aborted uploads stay queued on s3rver (it cannot abort); they are not objects on its listing.
    await expectConsistent(stack);
    expect(await pending()).toBe(0);
  });
});
