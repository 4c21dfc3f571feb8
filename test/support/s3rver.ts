import type { BackendConnection } from '../../infra/backend/index.js';
import { s3rverCredentials, type S3rverInstance } from '../../ops/demo/s3rver-process.js';

export { startS3rver, s3rverCredentials, type S3rverInstance } from '../../ops/demo/s3rver-process.js';

/** A `BackendConnection` for an s3rver instance. */
export function s3rverConnection(instance: S3rverInstance, overrides: Partial<BackendConnection> = {}): BackendConnection {
  return {
    name: `s3rver-${instance.port}`,
    endpoint: instance.endpoint,
    region: 'us-east-1',
    bucket: instance.bucket,
    ...s3rverCredentials,
    forcePathStyle: true,
    timeoutMs: 10_000,
    ...overrides,
  };
}
