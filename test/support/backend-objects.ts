import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { s3rverCredentials, type S3rverInstance } from './s3rver.js';
import type { TestStack } from './orchestrator.js';

/**
 * A plain S3 client straight to one s3rver backend, bypassing the orchestrator: how a test puts
 * bytes the log does not know onto a backend. Checksums only when required, so the SDK sends
 * plain bodies (s3rver would store aws-chunked framing verbatim).
 */
export function backendClient(s3rver: S3rverInstance): S3Client {
  return new S3Client({
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3rverCredentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function putOnBackend(s3rver: S3rverInstance, key: string, body: string, contentType?: string): Promise<void> {
  const c = backendClient(s3rver);
  try {
    await c.send(new PutObjectCommand({ Bucket: s3rver.bucket, Key: key, Body: body, ContentType: contentType }));
  } finally {
    c.destroy();
  }
}

export async function deleteOnBackend(s3rver: S3rverInstance, key: string): Promise<void> {
  const c = backendClient(s3rver);
  try {
    await c.send(new DeleteObjectCommand({ Bucket: s3rver.bucket, Key: key }));
  } finally {
    c.destroy();
  }
}

/** Every key on the backend, in key order. */
export async function listBackend(s3rver: S3rverInstance): Promise<string[]> {
  const c = backendClient(s3rver);
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: s3rver.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    c.destroy();
  }
  return keys;
}

/**
 * The storage invariants every durability scenario must leave behind, checked after the
 * reclaimer and one cleanup pass have run:
 * - each backend's `bytes_used` and `object_count` equal the sum of its live copies, and its
 *   `orphan_bytes` the sum of its cleanup items;
 * - every live copy is on its backend;
 * - nothing else is on a backend, except the keys listed in `untracked` (per backend name).
 */
export async function expectStorageInvariants(
  stack: TestStack,
  opts: { untracked?: Record<string, string[]>; backends?: string[] } = {},
): Promise<void> {
  await stack.orchestrator.services.reclaimer.drain();
  expect(await stack.orchestrator.cleanup.runOnce(), 'the cleanup worker ran').toBeDefined();
  const pool = stack.db.pool;
  const usage = await pool.query<{ backend: string; used: string; count: string; orphan: string; live: string; copies: string; queued: string }>(
    `SELECT u.backend, u.bytes_used AS used, u.object_count AS count, u.orphan_bytes AS orphan,
            (SELECT coalesce(sum(size), 0) FROM object_copies c WHERE c.backend = u.backend) AS live,
            (SELECT count(*) FROM object_copies c WHERE c.backend = u.backend) AS copies,
            (SELECT coalesce(sum(size), 0) FROM cleanup_queue q WHERE q.backend = u.backend) AS queued
       FROM backend_usage u ORDER BY u.backend`,
  );
  for (const r of usage.rows) {
    expect({ backend: r.backend, used: Number(r.used), count: Number(r.count), orphan: Number(r.orphan) })
      .toEqual({ backend: r.backend, used: Number(r.live), count: Number(r.copies), orphan: Number(r.queued) });
  }
  const names = opts.backends ?? stack.config.backends.map((b) => b.name);
  for (const name of names) {
    const index = stack.config.backends.findIndex((b) => b.name === name);
    const s3rver = stack.s3rvers[index] as S3rverInstance;
    const listed = new Set(await listBackend(s3rver));
    const live = (await pool.query<{ storage_key: string }>('SELECT storage_key FROM object_copies WHERE backend = $1', [name])).rows.map((r) => r.storage_key);
    expect(live.filter((k) => !listed.has(k)), `live copies missing on ${name}`).toEqual([]);
    const allowed = new Set([...live, ...(opts.untracked?.[name] ?? [])]);
    expect([...listed].filter((k) => !allowed.has(k)), `untracked objects on ${name}`).toEqual([]);
  }
}
