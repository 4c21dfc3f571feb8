import type { FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import { quoteEtag } from '../../../domain/s3/etag.js';
import { validateObjectKey } from '../../../domain/s3/keys.js';
import { extractObjectMetadata } from '../../../domain/s3/metadata.js';
import { assertKeyFitsBackends } from '../../../services/objects/storage-keys.js';
import type { GatewayContext } from '../../context.js';
import { verifiedBody } from '../request-body.js';
import type { S3Request } from '../s3-request.js';

export function validateNewKey(bucket: string, key: string): void {
  validateObjectKey(key);
  assertKeyFitsBackends(bucket, key);
}

/** PutObject: the verified body goes to a backend chosen by the routing strategy, then commits. */
export async function putObject(ctx: GatewayContext, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  validateNewKey(bucket, key);
  const meta = extractObjectMetadata(req.raw.headersDistinct);
  const body = verifiedBody(req, ctx.config().server.max_object_size);
  const { contentType, ...headers } = meta.headers;
  const result = await ctx.writer.put({
    bucket, key, size: body.size, body: body.stream, digests: () => body.digests(),
    contentType, metadata: meta.user, headers, origin: 'put', cause: req.cause,
  });
  reply.header('etag', quoteEtag(result.etag));
  if (result.checksum) reply.header(`x-amz-checksum-${result.checksum.algorithm.toLowerCase()}`, result.checksum.value);
  return reply.code(200).send();
}

/** DeleteObject: 204 whether or not the key existed, as S3 does. */
export async function deleteObject(ctx: GatewayContext, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  await deleteOne(ctx, req.bucket as string, req.key as string, req);
  return reply.code(204).send();
}

export async function deleteOne(ctx: GatewayContext, bucket: string, key: string, req: S3Request): Promise<void> {
  if (key === '') throw new DomainError('InvalidArgument', 'Object key must not be empty.');
  const displaced = await ctx.objects.delete(bucket, key, 'client', req.cause);
  if (!displaced) return;
  for (const d of displaced) ctx.backends.noteUsage(d.backend, { used: -d.size, orphan: d.size, count: -1 });
  ctx.reclaimer.reclaimSoon(displaced, req.cause);
}
