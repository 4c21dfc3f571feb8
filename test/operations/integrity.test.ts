import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseStorageKey } from '../../domain/objects/storage-keys.js';
import { adminCommand } from '../../ops/cli/admin-command.js';
import { compositeSha256 } from '../../services/integrity/content-hash.js';
import { startStack, type TestStack } from '../support/orchestrator.js';

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const token = 'integrity-t0k3n';
const integrityYaml = (enabled: boolean) => [
  `ui:\n  admin_token: ${token}`,
  'telemetry:\n  metrics:\n    enabled: true',
  'replication:\n  factor: 2\n  write_copies: 2\n  worker_interval: 1h',
  `integrity:\n  enabled: ${enabled}\n  verify_on_read: true\n  scrubber_interval: 0\n  scrubber_batch_size: 100`,
].join('\n');

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('integrity: hashes, verify_on_read, scrubbing, repair, backfill', () => {
  let stack: TestStack;
  let s3: S3Client;

  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await stack.db.pool.query(sql, params)).rows as T[];
  const copies = (key: string) => rows<{ backend: string; storage_key: string; checked_at: Date | null; corrupt_since: Date | null }>(
    "SELECT backend, storage_key, checked_at, corrupt_since FROM object_copies WHERE bucket = 'alpha' AND key = $1 ORDER BY backend", [key]);
  const eventsOf = (key: string) => rows<{ type: string; data: Record<string, unknown> }>(
    'SELECT type, data FROM events WHERE stream_id = $1 ORDER BY revision', [`object-alpha/${key}`]);
  const admin = async (...argv: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await adminCommand(['--addr', stack.url, '--token', token, ...argv], {
      out: { write: (s: string) => (out += s), isTTY: false },
      err: { write: (s: string) => (out += s) },
    }, { pollIntervalMs: 100 });
    return { code, out };
  };
  const metric = async (line: RegExp): Promise<number> => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    return Number(text.match(line)?.[1] ?? 0);
  };
  const get = async (key: string, range?: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key, ...(range ? { Range: range } : {}) }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };

  /** The file s3rver keeps a backend object's bytes in. */
  async function backendFile(backend: number, storageKey: string): Promise<string> {
    const name = storageKey.split('/').pop() as string;
    const files = (await filesUnder(stack.s3rvers[backend]!.directory)).filter((f) => f.endsWith('._S3rver_object') && f.includes(name));
    expect(files, storageKey).toHaveLength(1);
    return files[0] as string;
  }
  /** Flips one bit of the copy of `key` on backend `b1`/`b2` on the backend's disk. */
  async function corruptOnDisk(key: string, backend: 'b1' | 'b2', at = 7): Promise<string> {
    const copy = (await copies(key)).find((c) => c.backend === backend)!;
    const file = await backendFile(backend === 'b1' ? 0 : 1, copy.storage_key);
    const bytes = await readFile(file);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await writeFile(file, bytes);
    return file;
  }

  beforeAll(async () => {
    stack = await startStack({ backends: [{}, {}], extraYaml: integrityYaml(true), serverYaml: '  small_body_buffer: 64KiB' });
    s3 = stack.client();
  });
  afterAll(async () => stack?.stop());

  it('a PUT records the SHA-256 of the client bytes; a multipart upload each part\'s and their composite', async () => {
    const body = randomBytes(3000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'single', Body: body }));
    expect(await rows("SELECT content_sha256 FROM objects WHERE key = 'single'")).toEqual([{ content_sha256: sha256(body) }]);

    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'multi' }));
    const etags = [];
    for (const [i, p] of parts.entries()) {
      etags.push((await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'multi', UploadId, PartNumber: i + 1, Body: p }))).ETag);
    }
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'alpha', Key: 'multi', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    const [row] = await rows<{ content_sha256: string; parts: { partNumber: number; sha256: string }[] }>("SELECT content_sha256, parts FROM objects WHERE key = 'multi'");
    expect(row?.parts.map((p) => p.sha256)).toEqual(parts.map((p) => sha256(p)));
    expect(row?.content_sha256).toBe(compositeSha256(parts.map((p) => sha256(p))));
    expect(Buffer.compare(await get('multi'), Buffer.concat(parts))).toBe(0);
  });

  it('a flipped byte on one backend\'s disk: the scrubber finds it, repairs the copy from the replica, GET returns the right bytes, metrics count it', async () => {
    const body = randomBytes(200_000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'scrub-me', Body: body }));
    const before = await copies('scrub-me');
    const corruptFile = await corruptOnDisk('scrub-me', 'b1', 12345);
    const errorsBefore = await metric(/s3o_integrity_errors_total\{component="scrub"\} (\d+)/);
    const repairsBefore = await metric(/s3o_integrity_repairs_total (\d+)/);

    const scrub = await admin('scrub', '--batch-size', '1000');
    expect(scrub.code).toBe(0);
    expect(scrub.out).toMatch(/1 corrupt, 1 repaired/);

    const after = await copies('scrub-me');
    const b1 = after.find((c) => c.backend === 'b1')!;
    expect(b1.storage_key).not.toBe(before.find((c) => c.backend === 'b1')?.storage_key);
    // One of our keys: were its bytes ever left untracked, reconcile would queue them for cleanup, not import them as an object.
    expect(parseStorageKey(b1.storage_key)).toMatchObject({ bucket: 'alpha', key: 'scrub-me', writeId: expect.any(String), placementId: expect.any(String) });
    expect(b1.corrupt_since).toBeNull();
    expect(b1.checked_at).not.toBeNull();
    expect(after.every((c) => c.checked_at !== null)).toBe(true);
    // The repaired copy's bytes on b1's disk are the client's; the corrupt ones went to cleanup, which deleted them.
    expect(sha256(await readFile(await backendFile(0, b1.storage_key)))).toBe(sha256(body));
    await stack.orchestrator.services.reclaimer.drain();
    await expect(readFile(corruptFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sha256(await get('scrub-me'))).toBe(sha256(body));

    expect(await metric(/s3o_integrity_errors_total\{component="scrub"\} (\d+)/)).toBe(errorsBefore + 1);
    expect(await metric(/s3o_integrity_repairs_total (\d+)/)).toBe(repairsBefore + 1);
    expect(await metric(/s3o_integrity_checks_total\{component="scrub"\} (\d+)/)).toBeGreaterThan(0);
    // The gauges are refreshed after every pass.
    const [never] = await rows<{ n: number }>('SELECT count(*)::int AS n FROM object_copies WHERE checked_at IS NULL');
    expect(await metric(/^s3o_integrity_never_verified_copies (\d+)$/m)).toBe(never?.n);
    expect(await metric(/^s3o_integrity_oldest_unverified_seconds (\S+)$/m)).toBeGreaterThanOrEqual(0);
    const history = await admin('history', 'alpha/scrub-me');
    expect(history.out).toMatch(/copy on b1 found corrupt \(scrub\)/);
    expect(history.out).toMatch(/corrupt copy on b1 repaired from b2/);
    expect(history.out).toMatch(/copy on b2 verified \(scrub\): its SHA-256 matches/);
    // b2's copy was verified in the same pass, before or after b1's repair.
    const types = (await eventsOf('scrub-me')).map((e) => e.type);
    expect(types.filter((t) => t !== 'CopyVerified')).toEqual(['ObjectWritten', 'CopyCorrupted', 'CopyRepaired']);
    expect(types.filter((t) => t === 'CopyVerified')).toHaveLength(1);
    expect(await rows("SELECT count(*)::int AS n FROM events WHERE type = 'ScrubPassCompleted'")).not.toEqual([{ n: 0 }]);
  });

  it('a ranged GET of a corrupt copy condemns and deletes nothing; a full GET fails over to the replica and queues the repair', async () => {
    const body = randomBytes(20_000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'ranged', Body: body }));
    const before = await copies('ranged');
    const file = await corruptOnDisk('ranged', 'b1', 3);

    // b1 is read first (configuration order); the range covers the flipped byte.
    const part = await get('ranged', 'bytes=0-99');
    expect(part).toHaveLength(100);
    expect(await copies('ranged')).toEqual(before);
    expect((await eventsOf('ranged')).map((e) => e.type)).toEqual(['ObjectWritten']);
    expect((await readFile(file)).length).toBe(body.length);

    // A full read checks the bytes before sending them: the client gets the replica's.
    expect(sha256(await get('ranged'))).toBe(sha256(body));
    await vi.waitFor(async () => expect((await eventsOf('ranged')).map((e) => e.type)).toEqual(['ObjectWritten', 'CopyCorrupted', 'CopyRepaired']), { timeout: 10_000, interval: 50 });
    const corrupted = (await eventsOf('ranged'))[1]?.data;
    expect(corrupted).toMatchObject({ backend: 'b1', component: 'read', expectedSha256: sha256(body) });
    const history = await admin('history', 'alpha/ranged');
    expect(history.code).toBe(0);
    expect(history.out).toMatch(/copy on b1 found corrupt \(read\): SHA-256 [0-9a-f]{12}…, expected [0-9a-f]{12}…; queued for repair/);
    expect(history.out).toMatch(/corrupt copy on b1 repaired from b2: now b1/);
    const repaired = (await copies('ranged')).find((c) => c.backend === 'b1')!;
    expect(sha256(await readFile(await backendFile(0, repaired.storage_key)))).toBe(sha256(body));
  });

  it('an object with no healthy copy is reported, never deleted', async () => {
    const body = randomBytes(5000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'doomed', Body: body }));
    const before = await copies('doomed');
    const files = [await corruptOnDisk('doomed', 'b1'), await corruptOnDisk('doomed', 'b2')];

    const scrub = await admin('scrub', '--json');
    expect(scrub.code).toBe(0);
    const report = JSON.parse(scrub.out) as { failed: number; unrepairable: number; repaired: number };
    expect(report.failed).toBe(2);
    expect(report.unrepairable).toBeGreaterThanOrEqual(1);
    const after = await copies('doomed');
    expect(after.map((c) => c.storage_key)).toEqual(before.map((c) => c.storage_key));
    expect(after.every((c) => c.corrupt_since !== null)).toBe(true);
    expect(await rows("SELECT key FROM objects WHERE key = 'doomed'")).toEqual([{ key: 'doomed' }]);
    for (const f of files) expect((await readFile(f)).length).toBe(body.length);
    expect(await rows('SELECT count(*)::int AS n FROM cleanup_queue WHERE storage_key = ANY($1)', [before.map((c) => c.storage_key)])).toEqual([{ n: 0 }]);

    await expect(get('doomed')).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    const integrity = await admin('integrity');
    expect(integrity.out).toMatch(/2 copies corrupt, waiting for repair/);
    expect(integrity.out).toMatch(/alpha\/doomed on b1/);
    expect(integrity.out).toMatch(/alpha\/doomed on b2/);
  });

  it('backfill-checksums records the SHA-256 of objects written while integrity was off', async () => {
    await stack.restart(integrityYaml(false));
    s3 = stack.client();
    const body = randomBytes(4000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'old', Body: body }));
    const off = await admin('backfill-checksums');
    expect(off.out).toMatch(/backfill skipped: integrity verification is off/);
    await stack.restart(integrityYaml(true));
    s3 = stack.client();
    expect(await rows("SELECT content_sha256 FROM objects WHERE key = 'old'")).toEqual([{ content_sha256: null }]);

    const run = await admin('backfill-checksums', '--batch-size', '2', '--json');
    expect(run.code).toBe(0);
    expect(await rows("SELECT content_sha256 FROM objects WHERE key = 'old'")).toEqual([{ content_sha256: sha256(body) }]);
    expect((await copies('old')).every((c) => c.checked_at !== null)).toBe(true);
    expect(sha256(await get('old'))).toBe(sha256(body));
  });

  it('a repair whose source turns out corrupt records it and counts it (s3o_integrity_errors_total, the scrubber\'s component)', async () => {
    // Every other copy checked first, so the next copies to scrub are this object's, b1's first.
    expect((await admin('scrub', '--batch-size', '1000')).code).toBe(0);
    const body = randomBytes(6000);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'two-bad', Body: body }));
    await corruptOnDisk('two-bad', 'b1');
    await corruptOnDisk('two-bad', 'b2');
    const errorsBefore = await metric(/s3o_integrity_errors_total\{component="scrub"\} (\d+)/);

    // The pass checks b1 alone and finds it corrupt; its repair reads b2 as the source and finds that corrupt too.
    const scrub = await admin('scrub', '--batch-size', '1', '--json');
    expect(scrub.code).toBe(0);
    expect(JSON.parse(scrub.out)).toMatchObject({ checked: 1, failed: 1, repaired: 0 });
    const found = (await eventsOf('two-bad')).filter((e) => e.type === 'CopyCorrupted').map((e) => [e.data['backend'], e.data['component']]);
    expect(found).toEqual([['b1', 'scrub'], ['b2', 'scrub']]);
    expect(await metric(/s3o_integrity_errors_total\{component="scrub"\} (\d+)/)).toBe(errorsBefore + 2);
    expect((await copies('two-bad')).every((c) => c.corrupt_since !== null)).toBe(true);
    const history = await admin('history', 'alpha/two-bad');
    expect(history.out).toMatch(/copy on b2 found corrupt \(scrub\)/);
  });
});
