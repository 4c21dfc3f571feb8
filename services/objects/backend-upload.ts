import type { Readable } from 'node:stream';
import { DomainError, isDomainError } from '../../domain/errors.js';
import type { Logger } from '../../infra/telemetry/logger.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import type { OrphanRecorder } from '../cleanup/orphans.js';
import type { Cause } from '../event-factory.js';
import type { PutObjectInput, VerifiedDigests } from './put-object.js';

/** What sending one PUT's bytes to a backend needs from the writer. */
export interface UploadContext {
  backends: BackendDirectory;
  orphans: OrphanRecorder;
  logger: Logger;
  /** Told of each backend write that failed. */
  failed(backend: string, err: unknown): void;
}

/**
 * After a streamed upload failed: the body's own verification error if that is what ended it
 * (the body stream is then already destroyed with it); otherwise the rest of the body is let
 * drain, unread, so the request can be answered — nobody would consume it and it would hang.
 */
export function abandonBody(body: Readable): DomainError | undefined {
  if (isDomainError(body.errored)) return body.errored;
  if (!body.destroyed) body.resume();
  return undefined;
}

/**
 * An upload that failed may still complete on the backend (it can have received every byte
 * before the connection broke), after a delete sent right away. So its key is a failed write's
 * orphan, which the cleanup worker deletes after `cleanup_queue.failed_write_grace`.
 */
export async function recordFailedUpload(orphans: OrphanRecorder, backend: string, storageKey: string, cause: Cause): Promise<void> {
  await orphans.record(backend, storageKey, 0, 'failed_upload', cause);
}

/**
 * Streams a PUT's body to one backend and waits for the body's verification; nothing is
 * committed here. A streamed body is read once, so a failed send is final: the client's own
 * error when the body's verification ended it, otherwise a retryable 503. Bytes stored for a
 * body that then fails verification are recorded as an orphan.
 */
export async function streamToBackend(ctx: UploadContext, input: PutObjectInput, backend: string, storageKey: string): Promise<VerifiedDigests> {
  const digests = input.digests();
  digests.catch(() => undefined);
  try {
    await ctx.backends.require(backend).client.putObject(storageKey, input.body, { contentLength: input.size, contentType: input.contentType });
  } catch (err) {
    ctx.failed(backend, err);
    await recordFailedUpload(ctx.orphans, backend, storageKey, input.cause);
    const bodyError = abandonBody(input.body);
    if (bodyError) throw bodyError;
    ctx.logger.warn({ err, backend }, 'streamed backend write failed');
    throw new DomainError('ServiceUnavailable', 'The backend failed to store the object; please retry.');
  }
  try {
    return await digests;
  } catch (err) {
    await ctx.orphans.record(backend, storageKey, input.size, 'rejected_body', input.cause);
    throw err;
  }
}
