import type { FastifyReply } from 'fastify';
import { foldListingRows, startListing, type ListingPage, type ListingWindow } from '../../../domain/s3/listing.js';
import { encodeContinuationToken, parseListObjectsV1Params, parseListObjectsV2Params } from '../../../domain/s3/listing-params.js';
import { listObjectPage, type ListedObject } from '../../../projections/read/object-reads.js';
import type { S3Context } from '../s3-context.js';
import { sendXml } from '../respond.js';
import type { S3Request } from '../s3-request.js';
import { buildListObjectsV1Xml, buildListObjectsV2Xml } from '../xml/list-objects.js';
import { owner } from './bucket-handlers.js';

/** Runs one listing against the objects projection (seeking past common prefixes). */
async function runListing(ctx: Pick<S3Context, 'reads'>, bucket: string, window: ListingWindow): Promise<ListingPage<ListedObject>> {
  let page = startListing<ListedObject>(window);
  while (page.needMore && page.seek) {
    const rows = await listObjectPage(ctx.reads, bucket, { seek: page.seek, upperBound: page.upperBound, limit: page.fetchLimit });
    page = foldListingRows(window, page, rows, rows.length < page.fetchLimit);
  }
  return page;
}

export async function listObjectsV1(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const p = parseListObjectsV1Params(req.params);
  const bucket = req.bucket as string;
  const page = await runListing(ctx, bucket, { prefix: p.prefix, delimiter: p.delimiter, maxKeys: p.maxKeys.pageSize, after: p.marker });
  return sendXml(reply, 200, buildListObjectsV1Xml({
    bucket, prefix: p.prefix, delimiter: p.delimiter, maxKeys: p.maxKeys.requested, encodingType: p.encodingType,
    isTruncated: page.isTruncated, contents: page.contents, commonPrefixes: page.commonPrefixes,
    marker: p.marker, nextMarker: page.nextMarker, owner,
  }));
}

export async function listObjectsV2(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const p = parseListObjectsV2Params(req.params);
  const bucket = req.bucket as string;
  const page = await runListing(ctx, bucket, { prefix: p.prefix, delimiter: p.delimiter, maxKeys: p.maxKeys.pageSize, after: p.after });
  return sendXml(reply, 200, buildListObjectsV2Xml({
    bucket, prefix: p.prefix, delimiter: p.delimiter, maxKeys: p.maxKeys.requested, encodingType: p.encodingType,
    isTruncated: page.isTruncated, contents: page.contents, commonPrefixes: page.commonPrefixes,
    continuationToken: p.continuationToken,
    nextContinuationToken: page.isTruncated && page.nextMarker !== undefined ? encodeContinuationToken(page.nextMarker) : undefined,
    startAfter: p.startAfter,
    owner: p.fetchOwner ? owner : undefined,
  }));
}
