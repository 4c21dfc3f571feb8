import { DomainError } from '../../domain/errors.js';
import type { S3Context } from './s3-context.js';

/**
 * An authenticated request names a bucket: one that is not configured at all does not exist
 * (404 NoSuchBucket, as S3 answers for a bucket nobody owns); a configured one the credential is
 * not for is 403 AccessDenied.
 */
export function requireOwnBucket(ctx: Pick<S3Context, 'credentials'>, bucket: string, own: string, what: string): void {
  if (bucket === own) return;
  if (!ctx.credentials.hasBucket(bucket)) throw new DomainError('NoSuchBucket', undefined, { BucketName: bucket });
  throw new DomainError('AccessDenied', `Your credentials do not grant access to ${what}.`);
}
