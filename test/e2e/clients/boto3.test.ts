import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../../support/orchestrator.js';
import { seedListedKeys } from '../../support/seed-listing.js';
import { announce, findTool, makeTempDir, privateEnv, runOk } from './client-tools.js';

/**
 * boto3 (Debian's python3-boto3, run by the system python3 so a pyenv python cannot shadow it)
 * against the orchestrator. The scenarios live in boto3_client.py and print JSON observations.
 */

const python = findTool('boto3', ['/usr/bin/python3'], ['-c', 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)'],
  'install the Debian package python3-boto3; .ci/run does');
announce(python);

const script = fileURLToPath(new URL('./boto3_client.py', import.meta.url));

describe.skipIf(python.path === undefined)('boto3', () => {
  let stack: TestStack;
  let tmp: { dir: string; remove(): Promise<void> };

  const scenario = async <T = Record<string, unknown>>(name: string, extraEnv: Record<string, string> = {}, timeoutMs?: number): Promise<T> => {
    const env = privateEnv(tmp.dir, {
      S3O_ENDPOINT: stack.url, S3O_ACCESS_KEY: 'ALPHAKEY', S3O_SECRET_KEY: 'alpha-secret', S3O_BUCKET: 'alpha', S3O_WORKDIR: tmp.dir,
      // Nothing of the user's AWS configuration may reach botocore.
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', PYTHONDONTWRITEBYTECODE: '1',
      ...extraEnv,
    });
    const r = await runOk(python.path as string, [script, name], { env, cwd: tmp.dir, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }] });
    tmp = await makeTempDir('s3o-boto3-');
  });
  afterAll(async () => {
    await stack?.stop();
    await tmp?.remove();
  });

  it('put/get/head (also with CRC32 and SHA-256 checksums), range, conditional 304, copy and delete_objects', async () => {
    const out = await scenario<Record<string, Record<string, unknown> | unknown[] | null>>('objects');
    const plain = out.plain as Record<string, unknown>;
    expect(plain).toMatchObject({ body: 'hello from boto3\n', contentType: 'text/plain', metadata: { colour: 'green' }, length: 17 });
    expect(plain.putEtag).toBe(`"${plain.md5 as string}"`);
    expect(plain.etag).toBe(plain.putEtag);

    const crc = out.crc32 as Record<string, unknown>;
    expect(crc.putChecksum).toBe(crc.expected);
    expect(crc.getChecksum).toBe(crc.expected);
    const sha = out.sha256 as Record<string, unknown>;
    expect(sha.putChecksum).toBe(sha.expected);
    expect(sha.getChecksum).toBe(sha.expected);
    expect(sha.putEtag).toBe(`"${sha.md5 as string}"`);
    expect(sha.bodyMd5).toBe(sha.md5);

    expect(out.head).toEqual({ length: 17, etag: plain.etag, metadata: { colour: 'green' }, contentType: 'text/plain' });
    expect(out.range).toEqual({ status: 206, body: 'from', contentRange: 'bytes 6-9/17' });
    expect(out.ifNoneMatch).toEqual({ code: '304', status: 304 });
    expect(out.ifNoneMatchOther).toBe('hello from boto3\n');
    expect(out.ifMatchWrong).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(out.missing).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(out.copy).toEqual({ etag: plain.etag, metadata: { colour: 'green' }, body: 'hello from boto3\n' });
    expect(out.deleteObjects).toEqual({ deleted: ['obj/checked.bin', 'obj/copy.txt', 'obj/never', 'obj/plain.txt'], errors: [] });
    expect(out.afterDelete).toEqual([]);
  });

  it('upload_file/download_file of 12 MiB with a 5 MB multipart threshold, also with SHA-256 part checksums', async () => {
    const out = await scenario<Record<string, unknown>>('transfer');
    expect(out.headLength).toBe(out.size);
    // Three parts (5 + 5 + 2 MiB), so the object is a multipart one with S3's ETag for it.
    expect(out.etag).toBe(out.expectedEtag);
    expect(out.etag).toMatch(/-3"$/);
    expect(out.downloadedSize).toBe(out.size);
    expect(out.downloadedMd5).toBe(out.md5);
    // The same upload with a SHA-256 per part.
    expect(out.checkedEtag).toBe(out.expectedEtag);
    expect(out.checkedMd5).toBe(out.md5);
  });

  // Over 1,000 keys, so the default page (1,000) is followed by a second one. The first 1,000 are
  // appended in bulk (seedListedKeys): 1,200 boto3 PUTs cost ~15 s of a busy machine and tested
  // nothing 200 do not. boto3 puts the last 200 concurrently, between and after them in key order.
  it('list_objects_v2 paginator over 1,200 keys, 200 put concurrently, and a delimiter listing in pages of two', { timeout: 240_000 }, async () => {
    await seedListedKeys(stack.db.pool, Array.from({ length: 1000 }, (_, i) => `many/${String(i).padStart(5, '0')}`));
    const out = await scenario<Record<string, unknown>>('paginate', { S3O_KEY_COUNT: '1200', S3O_PUT_FROM: '1000' }, 210_000);
    expect(out.missing).toEqual([]);
    expect(out.unexpected).toEqual([]);
    expect(out.defaultPageSizes).toEqual([1000, 200]);
    expect(out.smallPageSizes).toEqual([250, 250, 250, 250, 200]);
    expect(out.defaultInOrder).toBe(true);
    expect(out.smallInOrder).toBe(true);
    // Prefixes count toward the page size; the continuation never repeats or skips one.
    const foldPages = out.foldPages as string[][];
    expect(foldPages.flat().sort()).toEqual(['fold/a/', 'fold/b-file', 'fold/b/', 'fold/c/', 'fold/d/', 'fold/e/', 'fold/top0', 'fold/top1', 'fold/top2']);
    expect(foldPages.every((page) => page.length <= 2)).toBe(true);
    expect(foldPages.length).toBe(5);
  });

  it('generate_presigned_url (SigV4) for get_object and put_object works with a plain HTTP client; ExpiresIn 0 or over a week is 403', async () => {
    interface Fetched { status: number; body: string }
    const out = await scenario<{
      getUrl: string; get: Fetched; put: Fetched; afterPut: string | null; defaultUrl: string; defaultGet: Fetched; zero: Fetched; tooLong: Fetched; options: Fetched;
    }>('presign');
    // Valid for no time, or for longer than a week: 403 AccessDenied saying why; OPTIONS on the URL is a refused preflight.
    expect(out.zero.status).toBe(403);
    expect(out.zero.body).toMatch(/<Code>AccessDenied<\/Code><Message>[^<]*X-Amz-Expires is 0/);
    expect(out.tooLong.status).toBe(403);
    expect(out.tooLong.body).toMatch(/<Code>AccessDenied<\/Code><Message>[^<]*at most a week/);
    expect(out.options.status).toBe(400);
    expect(out.getUrl).toContain('X-Amz-Signature=');
    expect(out.get, out.getUrl).toEqual({ status: 200, body: 'presigned by boto3' });
    expect(out.put.status, out.put.body).toBe(200);
    expect(out.afterPut).toBe('uploaded through a presigned URL');
    // Without signature_version='s3v4' botocore presigns with SigV2, which we refuse and say why.
    expect(out.defaultUrl).toContain('AWSAccessKeyId=');
    expect(out.defaultGet.status).toBe(403);
    expect(out.defaultGet.body).toContain('<Code>AccessDenied</Code>');
    expect(out.defaultGet.body).toContain('Signature Version 2 is not supported');
  });

  it('keys with spaces, control characters, non-ASCII and dot segments round-trip through put, list (v1, v2, delimiter) and get', async () => {
    const out = await scenario<{ names: string[]; listed: string[]; listedV1: string[]; nestedKeys: string[]; nestedPrefixes: string[]; bodiesMatch: boolean[] }>('keys');
    const sorted = [...out.names].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(out.listed).toEqual(sorted);
    expect(out.listedV1).toEqual(sorted);
    expect(out.nestedKeys).toEqual(sorted.filter((k) => !k.slice('keys/'.length).includes('/')));
    expect(out.nestedPrefixes).toEqual(['keys/dot/', 'keys/ünï/']);
    expect(out.bodiesMatch).toEqual(out.names.map(() => true));
  });

  it('get_object_tagging answers an empty tag set; writes with tags are refused, not silently stripped', async () => {
    const out = await scenario<Record<string, unknown>>('tagging');
    expect(out.tagSet).toEqual([]);
    expect(out.missing).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(out.putTagged).toEqual({ code: 'NotImplemented', status: 501 });
    expect(out.putTagging).toEqual({ code: 'NotImplemented', status: 501 });
    expect(out.taggedExists).toEqual({ code: '404', status: 404 });
  });

  it('non-ASCII user metadata round-trips unchanged: RFC 2047 encoded words as sent, UTF-8 values byte for byte (put, multipart, copy)', async () => {
    type Meta = Record<string, string>;
    const out = await scenario<{ rfc2047: { head: Meta; get: Meta; sent: Meta }; utf8: { head: Meta; get: Meta; sent: Meta }; multipart: Meta; copied: Meta }>('metadata');
    expect(out.rfc2047.head).toEqual(out.rfc2047.sent);
    expect(out.rfc2047.get).toEqual(out.rfc2047.sent);
    expect(out.utf8.head).toEqual(out.utf8.sent);
    expect(out.utf8.get).toEqual(out.utf8.sent);
    expect(out.multipart).toEqual({ ...out.utf8.sent, ...out.rfc2047.sent });
    expect(out.copied).toEqual({ city: 'Genève' });
  });

  it('a wrong secret is refused with SignatureDoesNotMatch', async () => {
    const out = await scenario<Record<string, { code: string; status: number } | null>>('wrong-secret');
    expect(out.list).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(out.put).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
  });
});
