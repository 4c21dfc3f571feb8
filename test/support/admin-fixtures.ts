import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ulid } from 'ulid';
import type { Orchestrator } from '../../ops/app.js';
import { cleanupStreamId } from '../../services/cleanup/reclaimer.js';
import { s3rverCredentials, type S3rverInstance } from './s3rver.js';

/**
 * Records an orphan on `backend` whose cleanup already gave up (as after ten failed deletes),
 * in one append so the cleanup worker never sees it pending. A drain of that backend cannot
 * finish while it exists, which keeps a drain running for as long as a test needs it.
 */
export async function recordExhaustedOrphan(o: Orchestrator, backend: string, size = 100): Promise<string> {
  const id = ulid();
  const cause = { actor: 'test:fixture' };
  await o.services.store.appendToStream(cleanupStreamId(id), [
    o.services.events.event('OrphanRecorded', { backend, storageKey: `ghost/${id}`, size, reason: 'test_fixture', kind: 'object' }, cause),
    o.services.events.event('CleanupExhausted', { attempt: 10, error: 'simulated: the backend refused ten times' }, cause),
  ], { expected: 'no_stream' });
  return id;
}

/** A backend the log knows (registered once) that is not in the running configuration, as after it was deleted from the file. */
export async function registerUnconfiguredBackend(o: Orchestrator, name: string): Promise<void> {
  await o.services.store.appendToStream(`backend-${name}`, [o.services.events.event('BackendRegistered', {
    backend: name, endpoint: 'http://127.0.0.1:1', bucket: 'gone', region: 'us-east-1',
    limits: { quotaBytes: 0, apiRequestLimit: 0, egressByteLimit: 0, ingressByteLimit: 0 },
  }, { actor: 'system:config' })], { expected: 'no_stream' });
}

/** The keys stored on an s3rver backend under `prefix`, read from the backend itself. */
export async function keysOnBackend(s: S3rverInstance, prefix: string): Promise<string[]> {
  const client = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3rverCredentials, maxAttempts: 1 });
  try {
    const res = await client.send(new ListObjectsV2Command({ Bucket: s.bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((c) => c.Key ?? '');
  } finally {
    client.destroy();
  }
}
