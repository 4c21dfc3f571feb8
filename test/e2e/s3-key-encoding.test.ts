import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { ulid } from 'ulid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../support/each-backend.js';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { backendObjects, expectConsistent, failure, parseErrorXml, signedRequest } from '../support/s3-e2e.js';
import type { S3rverInstance } from '../support/s3rver.js';

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * Issue 8: client keys are encoded into storage keys, so whatever a tenant's key is, its bytes
 * stay under `<bucket>/` on the backend (and, on s3rver, inside its directory), and the key works
 * like any other. Raw signed requests put the paths on the wire exactly as the issue sent them.
 */
describeOnEachBackend('client keys on the backends', (on) => {
  let stack: TestStack;
  let s3: S3Client;
  let alpha: TestBucket;
  /** s3rver keeps objects as files: there the file system is checked too (undefined on RGW). */
  let fileBackend: S3rverInstance | undefined;
  const escapeName = `s3o-escape-${ulid()}`;
  const backendKeys = async (): Promise<string[]> => [...(await backendObjects(stack.stores[0]!)).keys()];

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }], on });
    s3 = stack.client('alpha');
    alpha = stack.buckets[0] as TestBucket;
    fileBackend = stack.s3rvers[0];
  });
  afterAll(async () => {
    await stack?.stop();
    // Before the fix, the eight `../` key wrote here, outside s3rver's directory.
    for (const f of (await readdir(tmpdir())).filter((n) => n.startsWith(escapeName))) await rm(join(tmpdir(), f), { force: true });
  });

  it('keys with `..` segments stay inside the tenant\'s prefix on the backend and its file system, and read back', async () => {
    const paths: Record<string, string> = {
      '/alpha/../beta/planted': '../beta/planted',
      '/alpha/..%2f..%2fraw3': '../../raw3',
      '/alpha/%2e%2e/raw1': '../raw1',
      [`/alpha/${'../'.repeat(8)}tmp/${escapeName}`]: `${'../'.repeat(8)}tmp/${escapeName}`,
    };
    for (const path of Object.keys(paths)) {
      const put = await signedRequest(stack, alpha, { method: 'PUT', path, body: `bytes of ${path}` });
      expect(put.status, `${path}: ${put.text}`).toBe(200);
    }
    const onBackend = await backendKeys();
    expect(onBackend).toHaveLength(4);
    for (const key of onBackend) expect(key.startsWith('alpha/')).toBe(true);
    if (fileBackend) {
      const { directory, bucket } = fileBackend;
      expect((await filesUnder(directory)).filter((f) => !f.startsWith(join(bucket, 'alpha/')))).toEqual([]);
    }
    expect((await readdir(tmpdir())).filter((n) => n.startsWith(escapeName))).toEqual([]);

    for (const path of Object.keys(paths)) {
      const got = await signedRequest(stack, alpha, { method: 'GET', path });
      expect(got.status).toBe(200);
      expect(got.text).toBe(`bytes of ${path}`);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(Object.values(paths).sort());
    // The log keeps the keys as sent.
    const logged = await stack.db.pool.query<{ key: string }>(`SELECT data->>'key' AS key FROM events WHERE type = 'ObjectWritten' ORDER BY key`);
    expect(logged.rows.map((r) => r.key)).toEqual(Object.values(paths).sort());

    const beta = stack.client('beta');
    expect((await beta.send(new ListObjectsV2Command({ Bucket: 'beta' }))).KeyCount).toBe(0);
    expect(await failure(beta.send(new GetObjectCommand({ Bucket: 'beta', Key: 'planted' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    for (const path of Object.keys(paths)) {
      expect((await signedRequest(stack, alpha, { method: 'DELETE', path })).status).toBe(204);
    }
    await expectConsistent(stack);
  });

  it('keys with empty segments (`a//b`, `/leading`, `dir/`) work like any other key', async () => {
    const keys = ['a//b', '/leading', 'dir/', '//'];
    for (const key of keys) {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: `body of ${key}` }));
      expect(put.$metadata.httpStatusCode).toBe(200);
    }
    for (const key of keys) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: key }));
      expect(await got.Body?.transformToString()).toBe(`body of ${key}`);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key }))).ContentLength).toBe(`body of ${key}`.length);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([...keys].sort());
    const under = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'a/', Delimiter: '/' }));
    expect(under.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a//']);
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: key }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'alpha' }))).KeyCount).toBe(0);
    await expectConsistent(stack);
  });

  it('a 950-byte key segment is stored in pieces a file system can name; a key whose stored form is too long answers 400 KeyTooLongError', async () => {
    const long = `seg/${'s'.repeat(950)}`;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: long, Body: 'long' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: long }))).Body?.transformToString()).toBe('long');
    const onBackend = await backendKeys();
    expect(onBackend).toHaveLength(1);
    expect(Math.max(...(onBackend[0] as string).split('/').map((c) => c.length))).toBeLessThanOrEqual(200);

    const tooLong = 'x'.repeat(1000);
    const refused = await signedRequest(stack, alpha, { method: 'PUT', path: `/alpha/${tooLong}`, body: 'never stored' });
    expect(refused.status).toBe(400);
    expect(parseErrorXml(refused.text).Code).toBe('KeyTooLongError');
    expect(await backendKeys()).toEqual(onBackend);
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: long }));
    await expectConsistent(stack);
  });
});
