import type { FastifyReply } from 'fastify';
import { resolveCopyMetadata } from '../../../domain/s3/metadata.js';
import { createBodyPipeline } from '../../body/index.js';
import type { S3Context } from '../s3-context.js';
import { withCopySource } from '../copy-source.js';
import { sendXml } from '../respond.js';
import type { S3Request } from '../s3-request.js';
import { buildCopyObjectResultXml } from '../xml/objects.js';
import { validateNewKey, writePreconditionFrom } from './write-object.js';

/**
 * CopyObject: streams the source version's bytes into a new version of the destination, placed
 * by the routing strategy like any write; metadata per x-amz-metadata-directive (COPY/REPLACE).
 */
export async function copyObject(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  validateNewKey(bucket, key);
  const precondition = writePreconditionFrom(req, key);
  req.raw.resume();
  const { v, meta, opened } = await withCopySource(ctx, req, async (source) => {
    const v = source.version;
    const meta = resolveCopyMetadata({
      source: { user: v.metadata, headers: { contentType: v.contentType, ...v.headers } },
      requestHeaders: req.raw.headersDistinct,
      sameObject: source.bucket === bucket && source.key === key,
    });
    return { v, meta, opened: v.size === 0 ? undefined : await ctx.plain.open(v, undefined, req.signal) };
  });
  const hashing = createBodyPipeline({ payload: { kind: 'unsigned' }, checksumHeaders: {}, sha256: ctx.config().integrity.enabled });
  if (opened) opened.body.pipe(hashing.stream);
  else hashing.stream.end();
  opened?.body.on('error', (err) => hashing.stream.destroy(err));
  const { contentType, ...headers } = meta.headers;
  const result = await ctx.writer.put({
    bucket, key, size: v.size, body: hashing.stream, digests: () => hashing.digests(),
    contentType, metadata: meta.user, headers, origin: 'copy', cause: req.cause, ...(precondition ? { precondition } : {}),
  });
  return sendXml(reply, 200, buildCopyObjectResultXml({ etag: result.etag, lastModifiedMs: Date.parse(result.lastModified) }));
}
