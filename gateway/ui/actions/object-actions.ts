import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import { parseInput } from '../../admin/admin-input.js';
import { toAdminError } from '../../admin/admin-errors.js';
import { createBodyPipeline } from '../../body/index.js';
import { openWholeObject, withCurrentVersion } from '../../s3/handlers/read-object.js';
import { deleteOne, validateNewKey } from '../../s3/handlers/write-object.js';
import { spoolBody } from '../../s3/spooled-body.js';
import { query } from '../html.js';
import { ObjectParams } from '../pages/history-page.js';
import { uiUrl, type UiContext } from '../ui-context.js';
import { finish, formField, issue, registerAction, requireBucket, returnTarget } from './run-action.js';

/** `attachment; filename=…` with the key's last segment, ASCII-safe and in RFC 5987 form for the rest. */
function attachment(key: string): string {
  const name = key.split('/').filter((p) => p !== '').pop() ?? 'download';
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

interface UploadFields {
  bucket?: string;
  prefix?: string;
  name?: string;
}

/**
 * The upload form, streamed: the CSRF token must be the first field (checked before any file
 * byte is read), the other fields come before the file; the file's bytes are spooled to an
 * unlinked temp file (the size must be known before placement) and then go through the same
 * write path as an S3 PutObject, up to server.max_object_size.
 */
async function upload(ctx: UiContext, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const session = req.uiSession;
  const fields: UploadFields = {};
  let returnTo = uiUrl(ctx, '/objects');
  try {
    let first = true;
    for await (const part of req.parts()) {
      if (first && (part.type !== 'field' || part.fieldname !== '_csrf' || !session || !ctx.sessions.csrfMatches(session, part.value))) {
        req.raw.resume();
        return await reply.code(403).header('connection', 'close').type('text/plain; charset=utf-8')
          .send('missing or wrong CSRF token (it must be the first field): reload the page and try again');
      }
      first = false;
      if (part.type === 'field') {
        if (part.fieldname === 'bucket' || part.fieldname === 'prefix' || part.fieldname === 'name') fields[part.fieldname] = String(part.value);
        continue;
      }
      const bucket = fields.bucket ?? '';
      returnTo = `${uiUrl(ctx, '/objects')}${query({ bucket, prefix: fields.prefix ?? '' })}`;
      const key = `${fields.prefix ?? ''}${fields.name || part.filename}`;
      requireBucket(ctx, bucket);
      validateNewKey(bucket, key);
      const cause = await issue(ctx, req, 'upload', { bucket, key });
      const config = ctx.s3.config();
      const body = createBodyPipeline({ payload: { kind: 'unsigned' }, checksumHeaders: {}, sha256: config.integrity.enabled });
      part.file.pipe(body.stream);
      part.file.once('error', (err) => body.stream.destroy(err));
      const spooled = await spoolBody(body, config.server.max_object_size);
      const result = await ctx.s3.writer.put({
        bucket, key, size: spooled.digests.size, body: spooled.stream, digests: async () => spooled.digests,
        contentType: part.mimetype || 'application/octet-stream', metadata: {}, headers: {}, origin: 'put', cause,
      }).finally(() => spooled.stream.destroy());
      return finish(ctx, req, reply, 'ok', `Uploaded ${bucket}/${key} (${result.size} bytes, ETag ${result.etag}).`, returnTo);
    }
    throw new DomainError('ValidationFailed', 'file: is required', { field: 'file' });
  } catch (err) {
    req.raw.resume();
    void reply.header('connection', 'close');
    return finish(ctx, req, reply, 'error', toAdminError(err, ctx.admin.logger).message, returnTo);
  }
}

/** Upload, download and delete: the S3 API's write, read and delete paths, for configured buckets only. */
export function registerObjectActions(scope: FastifyInstance, ctx: UiContext): void {
  scope.post('/actions/upload', { config: { uiAccess: 'stream' } }, (req, reply) => upload(ctx, req, reply));

  registerAction(scope, ctx, 'delete', '/objects', async (req) => {
    const bucket = formField(req, 'bucket');
    const key = formField(req, 'key');
    requireBucket(ctx, bucket);
    const cause = await issue(ctx, req, 'delete', { bucket, key });
    await deleteOne(ctx.s3, bucket, key, cause);
    return { text: `Deleted ${bucket}/${key}.`, returnTo: returnTarget(ctx, (req.body as Record<string, unknown>).return_to, `/objects${query({ bucket })}`) };
  });

  /** A read is not recorded as a command (as S3 GETs are not); it carries the request id as its correlation. */
  scope.get('/objects/download', async (req, reply) => {
    const { bucket, key } = parseInput(ObjectParams, req.query, 'query');
    requireBucket(ctx, bucket);
    const cause = { actor: 'admin', correlationId: req.adminRequestId };
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    return withCurrentVersion(ctx.s3, bucket, key, async (v) => {
      const body = await openWholeObject(ctx.s3, bucket, key, v, cause, controller.signal);
      return reply.header('content-type', v.contentType || 'application/octet-stream').header('content-length', String(v.size))
        .header('content-disposition', attachment(key)).header('etag', `"${v.etag}"`).send(body);
    });
  });
}
