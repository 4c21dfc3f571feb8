import {
  CompleteMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { encodeContinuationToken } from '../../../domain/s3/listing-params.js';
import type { ListingRow } from '../../../domain/s3/listing.js';
import { buildErrorXml } from '../../../gateway/s3/xml/error.js';
import { buildListObjectsV1Xml, buildListObjectsV2Xml } from '../../../gateway/s3/xml/list-objects.js';
import { buildCompleteMultipartUploadResultXml, buildListPartsResultXml } from '../../../gateway/s3/xml/multipart.js';
import { buildDeleteResultXml } from '../../../gateway/s3/xml/objects.js';
import { parseCompleteMultipartUpload, parseDeleteRequest } from '../../../gateway/s3/xml/requests.js';
import { clientAnswering } from '../../support/sdk-answering.js';

const T = Date.UTC(2026, 10, 25, 12, 34, 56, 789);
const owner = { id: 'owner-id', displayName: 's3-orchestrator' };
const row = (key: string): ListingRow => ({ key, size: 7, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModifiedMs: T, storageClass: 'STANDARD' });
const awkwardKeys = ['plain', '&<>"\'', '  spaced  ', 'line\nbreak\r\nand CR', 'café/日本/😀', '0012', 'tab\there', 'ctl\u0001char'];

describe('our XML through the AWS SDK v3 client', () => {
  it('ListObjectsV2: keys, dates, ETags, prefixes and tokens deserialize exactly', async () => {
    const token = encodeContinuationToken('next/key');
    const client = clientAnswering(() => ({
      status: 200,
      xml: buildListObjectsV2Xml({
        bucket: 'bkt',
        prefix: '',
        delimiter: '/',
        maxKeys: 1000,
        encodingType: undefined,
        continuationToken: undefined,
        nextContinuationToken: token,
        startAfter: undefined,
        owner: undefined,
        isTruncated: true,
        contents: awkwardKeys.map(row),
        commonPrefixes: ['dir/', ' odd & dir/'],
      }),
    }));
    const out = await client.send(new ListObjectsV2Command({ Bucket: 'bkt', Delimiter: '/' }));
    expect(out.Contents?.map((c) => c.Key)).toEqual(awkwardKeys);
    expect(out.Contents?.[0]).toMatchObject({ Size: 7, ETag: '"d41d8cd98f00b204e9800998ecf8427e"', StorageClass: 'STANDARD' });
    expect(out.Contents?.[0]?.LastModified?.getTime()).toBe(T);
    expect(out.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/', ' odd & dir/']);
    expect(out).toMatchObject({ IsTruncated: true, NextContinuationToken: token, KeyCount: awkwardKeys.length + 2, MaxKeys: 1000 });
  });

  it('ListObjects v1: NextMarker and owners deserialize', async () => {
    const client = clientAnswering(() => ({
      status: 200,
      xml: buildListObjectsV1Xml({
        bucket: 'bkt',
        prefix: 'p',
        delimiter: '/',
        marker: '',
        nextMarker: 'p/z/',
        maxKeys: 2,
        encodingType: undefined,
        owner,
        isTruncated: true,
        contents: [row('p1')],
        commonPrefixes: ['p/z/'],
      }),
    }));
    const out = await client.send(new ListObjectsCommand({ Bucket: 'bkt', Prefix: 'p', Delimiter: '/' }));
    expect(out).toMatchObject({ IsTruncated: true, NextMarker: 'p/z/', Prefix: 'p', MaxKeys: 2 });
    expect(out.Contents?.[0]?.Owner).toEqual({ ID: 'owner-id', DisplayName: 's3-orchestrator' });
  });

  it('an Error body becomes the SDK exception with our code and message', async () => {
    const client = clientAnswering(() => ({
      status: 404,
      xml: buildErrorXml({ code: 'NoSuchKey', message: 'The specified key does not exist.', fields: { Key: 'a&b' }, requestId: 'REQ1' }),
    }));
    const error = await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'a&b' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3ServiceException);
    expect(error).toMatchObject({ name: 'NoSuchKey', message: 'The specified key does not exist.' });
    expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(404);
  });

  it('ListParts deserializes parts and markers', async () => {
    const client = clientAnswering(() => ({
      status: 200,
      xml: buildListPartsResultXml({
        bucket: 'bkt',
        key: 'k',
        uploadId: 'u1',
        initiator: owner,
        owner,
        storageClass: 'STANDARD',
        partNumberMarker: 0,
        nextPartNumberMarker: 1,
        maxParts: 1,
        isTruncated: true,
        parts: [{ partNumber: 1, lastModifiedMs: T, etag: 'e1', size: 5 }],
      }),
    }));
    const out = await client.send(new ListPartsCommand({ Bucket: 'bkt', Key: 'k', UploadId: 'u1', MaxParts: 1 }));
    expect(out).toMatchObject({ IsTruncated: true, NextPartNumberMarker: '1', MaxParts: 1, Parts: [{ PartNumber: 1, ETag: '"e1"', Size: 5 }] });
  });
});

describe('what the AWS SDK v3 sends, through our parsers', () => {
  it('DeleteObjects: 1000 awkward keys and Quiet arrive exactly; the SDK reads our DeleteResult', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `${awkwardKeys[i % awkwardKeys.length] ?? ''}#${i}`);
    let received: ReturnType<typeof parseDeleteRequest> | undefined;
    const client = clientAnswering((body) => {
      received = parseDeleteRequest(body);
      return {
        status: 200,
        xml: buildDeleteResultXml({
          quiet: received.quiet,
          deleted: received.objects.slice(1).map((o) => ({ key: o.key })),
          errors: [{ key: received.objects[0]?.key ?? '', code: 'InternalError', message: 'We encountered an internal error. Please try again.' }],
        }),
      };
    });
    const out = await client.send(new DeleteObjectsCommand({ Bucket: 'bkt', Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false } }));
    expect(received?.objects.map((o) => o.key)).toEqual(keys);
    expect(received?.quiet).toBe(false);
    expect(out.Deleted?.map((d) => d.Key)).toEqual(keys.slice(1));
    expect(out.Errors).toEqual([{ Key: keys[0], Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' }]);
  });

  it('CompleteMultipartUpload: parts and checksums arrive; the SDK reads our result', async () => {
    let received: ReturnType<typeof parseCompleteMultipartUpload> | undefined;
    const client = clientAnswering((body) => {
      received = parseCompleteMultipartUpload(body);
      return { status: 200, xml: buildCompleteMultipartUploadResultXml({ location: 'http://h/bkt/k', bucket: 'bkt', key: 'k', etag: 'abc-2' }) };
    });
    const out = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'bkt',
        Key: 'k',
        UploadId: 'u1',
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: '"a54357aff0632cce46d942af68356b38"', ChecksumCRC32: 'AAAAAA==' },
            { PartNumber: 2, ETag: '"0c78aef83f66abc1fa1e8477f296d394"' },
          ],
        },
      }),
    );
    expect(received).toEqual([
      { partNumber: 1, etag: '"a54357aff0632cce46d942af68356b38"', checksums: { ChecksumCRC32: 'AAAAAA==' } },
      { partNumber: 2, etag: '"0c78aef83f66abc1fa1e8477f296d394"' },
    ]);
    expect(out).toMatchObject({ Location: 'http://h/bkt/k', Bucket: 'bkt', Key: 'k', ETag: '"abc-2"' });
  });
});
