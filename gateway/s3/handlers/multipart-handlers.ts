import type { FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import { quoteEtag } from '../../../domain/s3/etag.js';
import { parseCopySourceRange } from '../../../domain/s3/keys.js';
import { commonPrefixOf } from '../../../domain/s3/listing.js';
import { parseListMultipartUploadsParams, parseListPartsParams } from '../../../domain/s3/listing-params.js';
import { extractObjectMetadata } from '../../../domain/s3/metadata.js';
import { parsePartNumber } from '../../../domain/s3/multipart.js';
import { listUploads, loadParts } from '../../../projections/read/upload-reads.js';
import { createBodyPipeline } from '../../body/index.js';
import type { S3Context } from '../s3-context.js';
import { withCopySource } from '../copy-source.js';
import { sendXml } from '../respond.js';
import { readSmallBody, verifiedBody } from '../request-body.js';
import { header, type S3Request } from '../s3-request.js';
import { buildCopyPartResultXml } from '../xml/objects.js';
import {
  buildCompleteMultipartUploadResultXml, buildInitiateMultipartUploadResultXml, buildListMultipartUploadsResultXml, buildListPartsResultXml,
} from '../xml/multipart.js';
import { parseCompleteMultipartUpload } from '../xml/requests.js';
import { owner } from './bucket-handlers.js';
import { validateNewKey, writePreconditionFrom } from './write-object.js';

const uploadIdOf = (req: S3Request): string => req.query.get('uploadId') ?? '';

export async function createMultipartUpload(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  validateNewKey(bucket, key);
  req.raw.resume();
  const meta = extractObjectMetadata(req.raw.headersDistinct);
  const { contentType, ...headers } = meta.headers;
  const bucketConfig = ctx.config().buckets.find((b) => b.name === bucket);
  const uploadId = await ctx.multipart.create({
    bucket, key, contentType, metadata: meta.user, headers, maxUploadsPerBucket: bucketConfig?.max_multipart_uploads ?? 0,
  }, req.cause);
  return sendXml(reply, 200, buildInitiateMultipartUploadResultXml({ bucket, key, uploadId }));
}

export async function uploadPart(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const partNumber = parsePartNumber(req.query.get('partNumber') ?? undefined);
  const upload = await ctx.multipart.requireUpload(req.bucket as string, req.key as string, uploadIdOf(req));
  const body = await verifiedBody(req, ctx.config().server.max_object_size, { sha256: ctx.config().integrity.enabled });
  const result = await ctx.multipart.uploadPart(upload, { partNumber, size: body.size, body: body.stream, digests: () => body.digests() }, req.cause)
    .finally(() => body.release());
  reply.header('etag', quoteEtag(result.etag));
  if (result.checksum) reply.header(`x-amz-checksum-${result.checksum.algorithm.toLowerCase()}`, result.checksum.value);
  return reply.code(200).send();
}

/** UploadPartCopy: a byte range of an object in the same bucket becomes a part. */
export async function uploadPartCopy(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const partNumber = parsePartNumber(req.query.get('partNumber') ?? undefined);
  const upload = await ctx.multipart.requireUpload(req.bucket as string, req.key as string, uploadIdOf(req));
  req.raw.resume();
  const rangeHeader = header(req.raw, 'x-amz-copy-source-range');
  const { size, opened } = await withCopySource(ctx, req, async ({ version: v }) => {
    const span = rangeHeader === undefined ? (v.size === 0 ? undefined : { start: 0, end: v.size - 1 }) : parseCopySourceRange(rangeHeader, v.size);
    return { size: span ? span.end - span.start + 1 : 0, opened: span ? await ctx.plain.open(v, span, req.signal) : undefined };
  });
  const hashing = createBodyPipeline({ payload: { kind: 'unsigned' }, checksumHeaders: {}, sha256: ctx.config().integrity.enabled });
  if (opened) {
    opened.body.on('error', (err) => hashing.stream.destroy(err));
    opened.body.pipe(hashing.stream);
  } else {
    hashing.stream.end();
  }
  const result = await ctx.multipart.uploadPart(upload, { partNumber, size, body: hashing.stream, digests: () => hashing.digests() }, req.cause);
  return sendXml(reply, 200, buildCopyPartResultXml({ etag: result.etag, lastModifiedMs: req.nowMs }));
}

export async function completeMultipartUpload(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  const precondition = writePreconditionFrom(req, key);
  const requested = parseCompleteMultipartUpload(await readSmallBody(req));
  const target = { uploadId: uploadIdOf(req), bucket, key };
  const done = await ctx.multipart.complete(target, requested, ctx.config().server.max_object_size, req.cause, precondition);
  return sendXml(reply, 200, buildCompleteMultipartUploadResultXml({
    location: `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`, bucket, key, etag: done.etag,
  }));
}

export async function abortMultipartUpload(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  req.raw.resume();
  const uploadId = uploadIdOf(req);
  if (!(await ctx.multipart.abort({ uploadId, bucket: req.bucket as string, key: req.key as string }, 'client', req.cause))) {
    throw new DomainError('NoSuchUpload', undefined, { UploadId: uploadId });
  }
  return reply.code(204).send();
}

export async function listParts(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const upload = await ctx.multipart.requireUpload(req.bucket as string, req.key as string, uploadIdOf(req));
  const p = parseListPartsParams(req.params);
  const rows = await loadParts(ctx.reads, upload.uploadId, { after: p.partNumberMarker, limit: p.maxParts.pageSize + 1 });
  const isTruncated = rows.length > p.maxParts.pageSize;
  const parts = rows.slice(0, p.maxParts.pageSize);
  return sendXml(reply, 200, buildListPartsResultXml({
    bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId, initiator: owner, owner, storageClass: 'STANDARD',
    partNumberMarker: p.partNumberMarker,
    nextPartNumberMarker: parts.length > 0 ? parts[parts.length - 1]?.partNumber : undefined,
    maxParts: p.maxParts.requested, isTruncated,
    parts: parts.map((r) => ({ partNumber: r.partNumber, lastModifiedMs: r.uploadedAt.getTime(), etag: r.etag, size: r.size })),
  }));
}

export async function listMultipartUploads(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const p = parseListMultipartUploadsParams(req.params);
  const limit = p.maxUploads.pageSize;
  const uploads: Awaited<ReturnType<typeof listUploads>> = [];
  const commonPrefixes: string[] = [];
  let keyMarker = p.keyMarker;
  let uploadIdMarker = p.uploadIdMarker;
  let isTruncated = false;
  // Rolls keys under the delimiter into common prefixes; each prefix counts once toward max-uploads.
  while (limit > 0 && uploads.length + commonPrefixes.length < limit) {
    const rows = await listUploads(ctx.reads, bucket, { prefix: p.prefix, keyMarker, uploadIdMarker, limit: limit + 1 });
    if (rows.length === 0) break;
    for (const row of rows) {
      const cp = commonPrefixOf(row.key, p.prefix, p.delimiter);
      if (cp !== undefined && commonPrefixes.includes(cp)) {
        keyMarker = row.key;
        uploadIdMarker = row.uploadId;
        continue;
      }
      if (uploads.length + commonPrefixes.length === limit) {
        isTruncated = true;
        break;
      }
      if (cp !== undefined) commonPrefixes.push(cp);
      else uploads.push(row);
      keyMarker = row.key;
      uploadIdMarker = row.uploadId;
    }
    if (isTruncated || rows.length <= limit) break;
  }
  const last = uploads[uploads.length - 1];
  return sendXml(reply, 200, buildListMultipartUploadsResultXml({
    bucket, keyMarker: p.keyMarker, uploadIdMarker: p.uploadIdMarker,
    nextKeyMarker: isTruncated ? keyMarker : undefined, nextUploadIdMarker: isTruncated ? (last?.uploadId ?? uploadIdMarker) : undefined,
    prefix: p.prefix, delimiter: p.delimiter, maxUploads: p.maxUploads.requested, encodingType: p.encodingType, isTruncated,
    uploads: uploads.map((u) => ({ key: u.key, uploadId: u.uploadId, initiator: owner, owner, storageClass: 'STANDARD', initiatedMs: u.initiatedAt.getTime() })),
    commonPrefixes,
  }));
}
