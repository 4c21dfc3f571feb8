import type { FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import type { S3Context } from '../s3-context.js';
import { sendXml } from '../respond.js';
import type { S3Request } from '../s3-request.js';
import { buildListAllMyBucketsXml, buildLocationConstraintXml, buildVersioningConfigurationXml } from '../xml/buckets.js';
import type { Owner } from '../xml/common.js';

export const owner: Owner = { id: 's3-orchestrator', displayName: 's3-orchestrator' };

/** A credential sees exactly one bucket: its own. */
export function listBuckets(ctx: Pick<S3Context, 'startedAtMs'>, req: S3Request, reply: FastifyReply): FastifyReply {
  return sendXml(reply, 200, buildListAllMyBucketsXml({ owner, buckets: [{ name: req.principal.bucket, creationDateMs: ctx.startedAtMs }] }));
}

export function headBucket(ctx: Pick<S3Context, 'config'>, _req: S3Request, reply: FastifyReply): FastifyReply {
  return reply.code(200).header('x-amz-bucket-region', ctx.config().server.region).send();
}

export function getBucketLocation(ctx: Pick<S3Context, 'config'>, _req: S3Request, reply: FastifyReply): FastifyReply {
  return sendXml(reply, 200, buildLocationConstraintXml(ctx.config().server.region));
}

export function getBucketVersioning(_ctx: unknown, _req: S3Request, reply: FastifyReply): FastifyReply {
  return sendXml(reply, 200, buildVersioningConfigurationXml());
}

/** Virtual buckets are configured, not created: re-creating your own bucket is what S3 calls "already owned". */
export function createBucket(_ctx: unknown, req: S3Request): never {
  throw new DomainError('BucketAlreadyOwnedByYou', undefined, { BucketName: req.bucket });
}

export function deleteBucket(_ctx: unknown, req: S3Request): never {
  throw new DomainError('MethodNotAllowed', 'Virtual buckets are defined in the configuration and cannot be deleted through S3.', {
    Method: 'DELETE', ResourceType: 'BUCKET', BucketName: req.bucket,
  });
}
