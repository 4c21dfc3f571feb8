import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, inject } from 'vitest';
import type { RgwStatus } from './rgw-global-setup.js';
import { s3rverImplementation, uniqueBucketName, type BackendImplementation, type BackendStore } from './backend-stores.js';

/**
 * Runs backend-facing suites on every S3 implementation: s3rver and Ceph RGW. Importing this
 * module asks the run's RGW broker for the cluster (starting it on first demand, once per run),
 * so only files that run on RGW pay for it.
 */
async function fetchRgwStatus(): Promise<RgwStatus> {
  const res = await fetch(inject('rgwBroker'));
  if (!res.ok) throw new Error(await res.text());
  return await res.json() as RgwStatus;
}

const rgwStatus = await fetchRgwStatus();

if (!rgwStatus.available) console.warn(`Ceph RGW backend tests skipped: ${rgwStatus.reason}`);

async function createRgwBucket(endpoint: string, accessKeyId: string, secretAccessKey: string): Promise<BackendStore> {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 3 });
  const bucket = uniqueBucketName();
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return { implementation: 'rgw', endpoint, bucket, accessKeyId, secretAccessKey };
}

/** One fresh bucket per store on the run's shared cluster (memstore: it all goes when the run ends). */
export const rgwImplementation: BackendImplementation = rgwStatus.available
  ? {
    name: 'rgw',
    async provision(count) {
      const { endpoint, accessKeyId, secretAccessKey } = rgwStatus;
      const stores = await Promise.all(Array.from({ length: count }, () => createRgwBucket(endpoint, accessKeyId, secretAccessKey)));
      return { stores, s3rvers: [], release: async () => undefined };
    },
  }
  : {
    name: 'rgw',
    unavailable: rgwStatus.reason,
    provision: () => Promise.reject(new Error(`Ceph RGW is not available: ${rgwStatus.reason}`)),
  };

export const backendImplementations: readonly BackendImplementation[] = [s3rverImplementation, rgwImplementation];

/** `describe(name [implementation])` once per implementation; skipped, with the reason in its name, where one cannot run. */
export function describeOnEachBackend(name: string, body: (on: BackendImplementation) => void): void {
  for (const on of backendImplementations) {
    if (on.unavailable === undefined) describe(`${name} [${on.name}]`, () => body(on));
    else describe.skip(`${name} [${on.name}] (skipped: ${on.unavailable})`, () => body(on));
  }
}
