import { DomainError } from '../../domain/errors.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { evaluateCopySourceConditions } from '../../domain/s3/conditionals.js';
import { parseCopySource, type CopySource } from '../../domain/s3/keys.js';
import type { S3Context } from './s3-context.js';
import { requireOwnBucket } from './bucket-access.js';
import { conditionsFrom, withCurrentVersion, type VersionLookup } from './handlers/read-object.js';
import { header, type S3Request } from './s3-request.js';

export interface ResolvedCopySource extends CopySource {
  version: ObjectVersion;
}

/**
 * The source of CopyObject / UploadPartCopy: it must be in the caller's own bucket (credentials
 * are per bucket), must exist, and must pass the x-amz-copy-source-if-* conditions. `use` opens
 * it; if the version was replaced meanwhile (its bytes reclaimed), the replacement is used.
 */
export async function withCopySource<T>(ctx: VersionLookup & Pick<S3Context, 'credentials'>, req: S3Request, use: (source: ResolvedCopySource) => Promise<T>): Promise<T> {
  const source = parseCopySource(header(req.raw, 'x-amz-copy-source') ?? '');
  requireOwnBucket(ctx, source.bucket, req.principal.bucket, 'the copy source bucket');
  return withCurrentVersion(ctx, source.bucket, source.key, (version) => {
    const verdict = evaluateCopySourceConditions(
      { etag: version.etag, lastModifiedMs: Date.parse(version.lastModified) },
      conditionsFrom(req, 'x-amz-copy-source-if-'),
    );
    if (verdict === 'precondition-failed') throw new DomainError('PreconditionFailed');
    return use({ ...source, version });
  });
}
