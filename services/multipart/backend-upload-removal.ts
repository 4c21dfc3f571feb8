import type { BackendClient } from '../../infra/backend/index.js';

export interface BackendUpload {
  storageKey: string;
  backendUploadId: string;
}

export interface BackendPart {
  partNumber: number;
  backendEtag: string;
}

/**
 * What became of a backend's multipart upload: `removed` (aborted, already gone, or assembled and
 * deleted), `assembled` (its parts are now one object at its storage key, which the delete did not
 * remove), or `left` (the parts may still be on the backend).
 */
export type RemovalOutcome = { kind: 'removed' | 'assembled' } | { kind: 'left'; status: number; cannotAbort: boolean };

/**
 * Removes a backend's multipart upload with its parts. A backend without AbortMultipartUpload
 * (s3rver answers 405) keeps an abandoned upload's parts for good; there, completing the upload
 * with its recorded parts and deleting the object that makes is how they go.
 */
export async function removeBackendUpload(client: BackendClient, upload: BackendUpload, parts: readonly BackendPart[]): Promise<RemovalOutcome> {
  const aborted = await client.abortMultipartUpload(upload.storageKey, upload.backendUploadId).catch(() => ({ confirmed: false as const, status: 0 }));
  if (aborted.confirmed || aborted.status === 404) return { kind: 'removed' };
  const cannotAbort = aborted.status === 405 || aborted.status === 501;
  if (!cannotAbort) return { kind: 'left', status: aborted.status, cannotAbort };
  // An upload without parts holds no bytes.
  if (parts.length === 0) return { kind: 'removed' };
  try {
    await client.completeMultipartUpload(upload.storageKey, upload.backendUploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.backendEtag })));
  } catch {
    // A Complete that lost the race to this abort may have assembled the parts first: they are
    // gone from the upload then, and that Complete reclaims the object it made.
    const assembledElsewhere = await client.headObject(upload.storageKey).catch(() => undefined);
    return assembledElsewhere ? { kind: 'removed' } : { kind: 'left', status: aborted.status, cannotAbort };
  }
  try {
    await client.deleteObject(upload.storageKey);
    return { kind: 'removed' };
  } catch {
    return { kind: 'assembled' };
  }
}
