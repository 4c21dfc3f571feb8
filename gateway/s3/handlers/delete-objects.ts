import type { FastifyReply } from 'fastify';
import { isDomainError } from '../../../domain/errors.js';
import type { S3Context } from '../s3-context.js';
import { toDomainError, sendXml } from '../respond.js';
import { readSmallBody } from '../request-body.js';
import type { S3Request } from '../s3-request.js';
import { buildDeleteResultXml, type DeleteErrorEntry, type DeletedEntry } from '../xml/objects.js';
import { parseDeleteRequest } from '../xml/requests.js';
import { deleteOne } from './write-object.js';

const concurrency = 10;

/** DeleteObjects: up to 1000 keys; always 200 with a per-key result (Quiet lists failures only). */
export async function deleteObjects(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const request = parseDeleteRequest(await readSmallBody(req));
  const bucket = req.bucket as string;
  const deleted: DeletedEntry[] = [];
  const errors: DeleteErrorEntry[] = [];
  const queue = [...request.objects];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        try {
          if (item.versionId !== undefined && item.versionId !== 'null') {
            errors.push({ key: item.key, versionId: item.versionId, code: 'NoSuchVersion', message: 'The specified version does not exist.' });
            continue;
          }
          // An entry's ETag makes its delete conditional, as If-Match does for DeleteObject.
          await deleteOne(ctx, bucket, item.key, req.cause, item.etag);
          deleted.push(item.versionId === undefined ? { key: item.key } : { key: item.key, versionId: item.versionId });
        } catch (err) {
          const e = isDomainError(err) ? err : toDomainError(err, ctx.logger);
          errors.push({ key: item.key, code: e.s3Code, message: e.message });
        }
      }
    }),
  );
  const order = new Map(request.objects.map((o, i) => [o.key, i]));
  deleted.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
  return sendXml(reply, 200, buildDeleteResultXml({ quiet: request.quiet, deleted, errors }));
}
