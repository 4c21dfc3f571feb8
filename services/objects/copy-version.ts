import type { Readable } from 'node:stream';
import type { StoredCopy } from '../../domain/events/common.js';
import type { ObjectVersion } from '../../domain/objects/object-state.js';
import { isMd5Hex } from '../../domain/s3/etag.js';
import type { BackendClient } from '../../infra/backend/index.js';
import type { BackendDirectory } from '../backends/backend-directory.js';
import { collectBody } from './collect-body.js';
import type { ObjectReader } from './object-reader.js';
import type { Cause } from '../event-factory.js';

/** How a replica or a moved copy of a version is made (plainly, or verified: services/integrity/replica-copier.ts). */
export type VersionCopier = (bucket: string, key: string, version: ObjectVersion, target: StoredCopy, cause: Cause) => Promise<void>;

/**
 * Streams one stored object from `source` to `target` under `targetKey` (bytes verbatim, so
 * ciphertext stays ciphertext). When `expectedMd5Hex` is given, the target's ETag must equal it:
 * a copy whose bytes differ is an error, never a replica.
 */
export async function copyStoredBytes(
  source: { client: BackendClient; storageKey: string },
  target: { client: BackendClient; storageKey: string },
  size: number,
  contentType: string,
  expectedMd5Hex: string | undefined,
): Promise<void> {
  if (size === 0) {
    await target.client.putObject(target.storageKey, Buffer.alloc(0), { contentLength: 0, contentType });
    return;
  }
  const opened = await source.client.getObject(source.storageKey);
  await putVerified(target, opened.body, size, contentType, expectedMd5Hex);
}

/**
 * Copies the bytes of an object version to `target` (backend + storage key): reads from the
 * best readable copy (healthy backends first), writes verbatim, and checks the target's ETag
 * against the version's when the ETag is a plain MD5 (not a multipart ETag) of the stored bytes.
 * An encrypted version's ciphertext is copied as it is (its envelope is the version's, so the
 * copy decrypts with the same data key); its size is the copy's stored size.
 */
export async function copyVersion(backends: BackendDirectory, reader: ObjectReader, version: ObjectVersion, target: StoredCopy): Promise<void> {
  const client = backends.require(target.backend).client;
  const expected = isMd5Hex(version.etag) && !version.encryption ? version.etag : undefined;
  if (version.size === 0 && !version.encryption) {
    await client.putObject(target.storageKey, Buffer.alloc(0), { contentLength: 0, contentType: version.contentType });
    return;
  }
  const opened = await reader.open(version, undefined);
  await putVerified({ client, storageKey: target.storageKey }, opened.result.body, opened.copy.size, version.contentType, expected);
}

/**
 * Copies up to this size are read whole before the PUT: a buffer goes out in one write, while
 * piping a small body costs more than its bytes (a stream shield, per-chunk writes).
 */
const wholeCopyMaxBytes = 256 * 1024;

async function putVerified(
  target: { client: BackendClient; storageKey: string },
  source: Readable,
  size: number,
  contentType: string,
  expectedMd5Hex: string | undefined,
): Promise<void> {
  let etag: string;
  const body = size <= wholeCopyMaxBytes ? await collectBody(source, size) : source;
  try {
    etag = (await target.client.putObject(target.storageKey, body, { contentLength: size, contentType })).etag;
  } catch (err) {
    source.destroy();
    throw err;
  }
  if (expectedMd5Hex !== undefined && etag.toLowerCase() !== expectedMd5Hex.toLowerCase()) {
    throw new Error(`copied bytes do not match: ${target.client.name} stored ETag ${etag}, expected ${expectedMd5Hex}`);
  }
}
