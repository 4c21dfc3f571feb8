import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import { evaluateConditions } from '../../../domain/s3/conditionals.js';
import { quoteEtag } from '../../../domain/s3/etag.js';
import { rejectNul, validateObjectKey } from '../../../domain/s3/keys.js';
import { extractObjectMetadata } from '../../../domain/s3/metadata.js';
import type { WritePrecondition } from '../../../services/objects/object-commands.js';
import type { PutObjectInput, VerifiedDigests } from '../../../services/objects/put-object.js';
import type { ObjectHeaders } from '../../../domain/events/common.js';
import { assertKeyFitsBackends } from '../../../domain/objects/storage-keys.js';
import type { Cause } from '../../../services/event-factory.js';
import type { S3Context } from '../s3-context.js';
import { verifiedBody, type VerifiedBody } from '../request-body.js';
import { header, type S3Request } from '../s3-request.js';

export function validateNewKey(bucket: string, key: string): void {
  validateObjectKey(key);
  assertKeyFitsBackends(bucket, key);
}

/**
 * S3's conditional writes (PutObject, CopyObject, CompleteMultipartUpload): `If-None-Match: *`
 * writes only where no object exists (else 412); `If-Match: <etag>` only over the object with that
 * ETag (412 when it differs, 404 NoSuchKey when there is none). S3 knows no other If-None-Match
 * value on a write: 501. Checked against the version the commit replaces, so racing writers
 * cannot both pass.
 */
export function writePreconditionFrom(req: S3Request, key: string): WritePrecondition | undefined {
  const ifNoneMatch = header(req.raw, 'if-none-match');
  const ifMatch = header(req.raw, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new DomainError('NotImplemented', 'A conditional write supports If-None-Match: * only.');
  }
  return (current) => {
    if (ifNoneMatch !== undefined && current) throw new DomainError('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
    if (ifMatch !== undefined) requireEtag(current, ifMatch, key);
  };
}

/** If-Match on a write or delete: the current object must exist and carry that ETag. */
export function requireEtag(current: ObjectVersion | undefined, ifMatch: string, key: string): void {
  if (!current) throw new DomainError('NoSuchKey', undefined, { Key: key });
  const verdict = evaluateConditions({ etag: current.etag, lastModifiedMs: Date.parse(current.lastModified) }, { ifMatch });
  if (verdict.outcome === 'precondition-failed') throw new DomainError('PreconditionFailed', undefined, { Condition: 'If-Match' });
}

/**
 * A client PUT as the writer takes it. Its body stream is read only when the writer streams the
 * body or drains a refused one: a body read whole makes its stream on first use. A class, not an
 * object literal with a getter: in Node 20 such a literal is made in dictionary mode, by a runtime
 * call per request, and every read of its fields along the write path is a lookup.
 */
class ClientPut implements PutObjectInput {
  readonly #verified: VerifiedBody;
  readonly size: number;
  readonly origin = 'put';
  whole?: () => Promise<Buffer>;
  precondition?: WritePrecondition;

  constructor(
    readonly bucket: string, readonly key: string, verified: VerifiedBody, readonly contentType: string,
    readonly metadata: Record<string, string>, readonly headers: ObjectHeaders, readonly cause: Cause,
  ) {
    this.#verified = verified;
    this.size = verified.size;
  }

  get body(): Readable {
    return this.#verified.stream;
  }

  /** A field, not a method: copies of the input (an encrypted PUT's) take it as it is. */
  readonly digests = (): Promise<VerifiedDigests> => this.#verified.digests();
}

/** PutObject: the verified body goes to a backend chosen by the routing strategy, then commits. */
export async function putObject(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  const bucket = req.bucket as string;
  const key = req.key as string;
  validateNewKey(bucket, key);
  const meta = extractObjectMetadata(req.raw.headersDistinct);
  const precondition = writePreconditionFrom(req, key);
  const config = ctx.config();
  // A body the writer buffers anyway is read whole.
  const body = await verifiedBody(req, config.server.max_object_size, { sha256: config.integrity.enabled, whole: config.server.small_body_buffer });
  const { contentType, ...headers } = meta.headers;
  const input = new ClientPut(bucket, key, body, contentType, meta.user, headers, req.cause);
  if (body.whole) input.whole = body.whole;
  if (precondition) input.precondition = precondition;
  const result = await ctx.writer.put(input).finally(() => body.release());
  reply.header('etag', quoteEtag(result.etag));
  if (result.checksum) reply.header(`x-amz-checksum-${result.checksum.algorithm.toLowerCase()}`, result.checksum.value);
  return reply.code(200).send();
}

/** DeleteObject: 204 whether or not the key existed, as S3 does; with If-Match only that version. */
export async function deleteObject(ctx: S3Context, req: S3Request, reply: FastifyReply): Promise<FastifyReply> {
  await deleteOne(ctx, req.bucket as string, req.key as string, req.cause, header(req.raw, 'if-match'));
  return reply.code(204).send();
}

/** Deletes a key through the object decider; the displaced copies' bytes are reclaimed soon. Also the dashboard's delete. */
export async function deleteOne(ctx: Pick<S3Context, 'objects' | 'backends' | 'reclaimer'>, bucket: string, key: string, cause: Cause, ifMatch?: string): Promise<void> {
  if (key === '') throw new DomainError('InvalidArgument', 'Object key must not be empty.');
  rejectNul(key, 'key');
  const precondition = ifMatch === undefined ? undefined : (current: ObjectVersion | undefined) => requireEtag(current, ifMatch, key);
  const displaced = await ctx.objects.delete(bucket, key, 'client', cause, precondition ? { precondition } : {});
  if (!displaced) return;
  for (const d of displaced) ctx.backends.noteUsage(d.backend, { used: -d.size, orphan: d.size, count: -1 });
  ctx.reclaimer.reclaimSoon(displaced, cause);
}
