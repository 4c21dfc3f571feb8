import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { DomainError } from '../../../domain/errors.js';
import { resolveCopyMetadata } from '../../../domain/s3/metadata.js';
import { openCheckedSource, type CheckedSource } from '../../../services/integrity/checked-source.js';
import { hasRecordedHash } from '../../../services/integrity/content-hash.js';
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
 * With integrity on, a source with a recorded SHA-256 is checked while it is copied: a copy whose
 * bytes differ is recorded corrupt (and repaired in the background), the write of them fails
 * before it commits, and the copy starts again from another copy of the source.
 */
export async function copyObject(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  validateNewKey(bucket, key);
  const precondition = writePreconditionFrom(req, key);
  req.raw.resume();
  const corrupt = new Set<string>();
  for (;;) {
    const { v, meta, opened, checked, from } = await withCopySource(ctx, req, async (source) => {
      const v = source.version;
      const meta = resolveCopyMetadata({
        source: { user: v.metadata, headers: { contentType: v.contentType, ...v.headers } },
        requestHeaders: req.raw.headersDistinct,
        sameObject: source.bucket === bucket && source.key === key,
      });
      const from = { bucket: source.bucket, key: source.key };
      if (v.size === 0) return { v, meta, from, opened: undefined, checked: undefined };
      if (ctx.config().integrity.enabled && hasRecordedHash(v)) {
        const checked = await openCheckedSource(ctx.plain, v, req.signal, corrupt);
        return { v, meta, from, opened: checked.body, checked };
      }
      return { v, meta, from, opened: (await ctx.plain.open(v, undefined, req.signal)).body, checked: undefined as CheckedSource | undefined };
    });
    try {
      const result = await write(ctx, req, bucket, key, v.size, opened, meta, precondition);
      if (checked) ctx.integrity.noteIntactRead();
      return sendXml(reply, 200, buildCopyObjectResultXml({ etag: result.etag, lastModifiedMs: Date.parse(result.lastModified) }));
    } catch (err) {
      const mismatch = checked?.mismatch();
      if (!checked || !mismatch) throw err;
      ctx.integrity.reportCorrupt(from.bucket, from.key, v.writeId, checked.copy, 'read', { kind: 'corrupt', reason: 'checksum-mismatch', mismatch }, req.cause);
      corrupt.add(checked.copy.backend);
      if (corrupt.size >= v.copies.length) {
        throw new DomainError('ServiceUnavailable', 'No intact copy of the copy source could be read; the corrupt copies are reported for repair.');
      }
    }
  }
}

async function write(
  ctx: S3Context, req: S3Request, bucket: string, key: string, size: number, opened: Readable | undefined,
  meta: ReturnType<typeof resolveCopyMetadata>, precondition: ReturnType<typeof writePreconditionFrom>,
) {
  const hashing = createBodyPipeline({ payload: { kind: 'unsigned' }, checksumHeaders: {}, sha256: ctx.config().integrity.enabled });
  if (opened) opened.pipe(hashing.stream);
  else hashing.stream.end();
  opened?.on('error', (err) => hashing.stream.destroy(err));
  const { contentType, ...headers } = meta.headers;
  return ctx.writer.put({
    bucket, key, size, body: hashing.stream, digests: () => hashing.digests(),
    contentType, metadata: meta.user, headers, origin: 'copy', cause: req.cause, ...(precondition ? { precondition } : {}),
  });
}
