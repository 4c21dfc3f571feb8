import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { s3rverCredentials, startS3rver, type S3rverInstance } from './s3rver.js';

/** The S3 implementations the backend-facing tests run against. */
export type ImplementationName = 's3rver' | 'rgw';

/** One bucket on an S3 implementation, used by a test stack as one backend. */
export interface BackendStore {
  implementation: ImplementationName;
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ProvisionedStores {
  stores: BackendStore[];
  /** The s3rver processes behind the stores (empty on RGW), for outage tests that kill them. */
  s3rvers: S3rverInstance[];
  release(): Promise<void>;
}

export interface BackendImplementation {
  name: ImplementationName;
  /** Why this implementation cannot run here; its tests are skipped and say so. */
  unavailable?: string;
  /** `count` empty buckets no other test uses. */
  provision(count: number): Promise<ProvisionedStores>;
}

export function s3rverStore(s: S3rverInstance): BackendStore {
  return { implementation: 's3rver', endpoint: s.endpoint, bucket: s.bucket, ...s3rverCredentials };
}

/** One s3rver process per store. */
export const s3rverImplementation: BackendImplementation = {
  name: 's3rver',
  async provision(count) {
    const s3rvers = await Promise.all(Array.from({ length: count }, () => startS3rver()));
    return { stores: s3rvers.map(s3rverStore), s3rvers, release: async () => { await Promise.all(s3rvers.map((s) => s.stop())); } };
  },
};

/** A bucket name no other test file uses (RGW buckets share one cluster per test run). */
export function uniqueBucketName(): string {
  return `s3o-${randomBytes(8).toString('hex')}`;
}

/**
 * A plain S3 client straight at a store, bypassing the orchestrator. Checksums only when
 * required, so the SDK sends plain bodies (s3rver would store aws-chunked framing verbatim).
 */
export function storeClient(store: BackendStore): S3Client {
  return new S3Client({
    endpoint: store.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}
