import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { aws, startAwsCli, type AwsCliHarness } from './aws-cli-support.js';
import { announce, deterministicBytes, md5Hex, writeTree } from './client-tools.js';

const MiB = 1024 * 1024;

/** The AWS CLI v2's `s3api` calls users script with, against the orchestrator. */

announce(aws);

const keysOf = (out: Record<string, unknown>): string[] => ((out.Contents as { Key: string }[] | undefined) ?? []).map((c) => c.Key);

// Each CLI run costs about a second of CPU (Python imports): generous per-test time for loaded CI
// machines. The cases use separate keys and run concurrently: most of their time is the CLI's
// start-up. What they stored is checked with the JS SDK where the call is not the point.
describe.skipIf(aws.path === undefined).concurrent('AWS CLI s3api', { timeout: 180_000 }, () => {
  let cli: AwsCliHarness;
  beforeAll(async () => {
    cli = await startAwsCli();
  });
  afterAll(async () => cli?.stop());

  it('put-object with metadata, head-object and a ranged get-object', async ({ expect }) => {
    await writeFile(cli.path('meta.txt'), '0123456789abcdef');
    const put = await cli.api(['put-object', '--bucket', 'alpha', '--key', 'api/meta.txt', '--body', cli.path('meta.txt'),
      '--metadata', 'colour=blue,Owner-Team=storage', '--content-type', 'text/plain', '--cache-control', 'max-age=60']);
    expect(put.ETag).toBe(`"${md5Hex('0123456789abcdef')}"`);
    const head = await cli.api(['head-object', '--bucket', 'alpha', '--key', 'api/meta.txt']);
    expect(head).toMatchObject({
      ContentLength: 16, ContentType: 'text/plain', CacheControl: 'max-age=60', ETag: put.ETag,
      Metadata: { colour: 'blue', 'owner-team': 'storage' },
    });
    const ranged = await cli.api(['get-object', '--bucket', 'alpha', '--key', 'api/meta.txt', '--range', 'bytes=4-9', cli.path('meta.part')]);
    expect(ranged).toMatchObject({ ContentLength: 6, ContentRange: 'bytes 4-9/16', ETag: put.ETag });
    expect(await readFile(cli.path('meta.part'), 'utf8')).toBe('456789');
    const missing = await cli.run(['s3api', 'head-object', '--bucket', 'alpha', '--key', 'api/nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/\(404\)/);
  });

  it('list-objects-v2 pages with --max-items/--page-size and --starting-token', async ({ expect }) => {
    const keys = Array.from({ length: 7 }, (_, i) => `page/k${String(i).padStart(2, '0')}`);
    await writeTree(cli.path('page-src'), Object.fromEntries(keys.map((k) => [k.slice('page/'.length), k])));
    await cli.ok(['s3', 'cp', cli.path('page-src'), 's3://alpha/page/', '--recursive', '--no-progress']);
    const first = await cli.api(['list-objects-v2', '--bucket', 'alpha', '--prefix', 'page/', '--max-items', '3', '--page-size', '2']);
    expect(keysOf(first)).toEqual(keys.slice(0, 3));
    expect(typeof first.NextToken).toBe('string');
    const rest = await cli.api(['list-objects-v2', '--bucket', 'alpha', '--prefix', 'page/', '--page-size', '2', '--starting-token', first.NextToken as string]);
    expect(keysOf(rest)).toEqual(keys.slice(3));
    expect(rest.NextToken).toBeUndefined();
    // Pages of two, followed to the end by the CLI; and the delimiter view of the bucket.
    expect(keysOf(await cli.api(['list-objects-v2', '--bucket', 'alpha', '--prefix', 'page/', '--page-size', '2']))).toEqual(keys);
    const delimited = await cli.api(['list-objects-v2', '--bucket', 'alpha', '--delimiter', '/']);
    expect(delimited.CommonPrefixes).toContainEqual({ Prefix: 'page/' });
    expect(keysOf(delimited).filter((k) => k.includes('/'))).toEqual([]);
  });

  it('multipart by hand: create, upload-part, list-parts, list-multipart-uploads, complete, abort', async ({ expect }) => {
    const part1 = deterministicBytes(5 * MiB, 'mpu-1');
    const part2 = Buffer.from('the short last part');
    await writeFile(cli.path('part1.bin'), part1);
    await writeFile(cli.path('part2.bin'), part2);
    const { UploadId: uploadId } = await cli.api(['create-multipart-upload', '--bucket', 'alpha', '--key', 'mpu/done.bin', '--content-type', 'application/x-test']) as { UploadId: string };
    // Parts are independent requests: uploaded at once, as clients do.
    const etags = await Promise.all(([[1, 'part1.bin'], [2, 'part2.bin']] as const).map(async ([n, file]) =>
      (await cli.api(['upload-part', '--bucket', 'alpha', '--key', 'mpu/done.bin', '--upload-id', uploadId, '--part-number', String(n), '--body', cli.path(file)])).ETag as string));
    expect(etags).toEqual([`"${md5Hex(part1)}"`, `"${md5Hex(part2)}"`]);
    const parts = await cli.api(['list-parts', '--bucket', 'alpha', '--key', 'mpu/done.bin', '--upload-id', uploadId]);
    expect((parts.Parts as { PartNumber: number; Size: number }[]).map((p) => [p.PartNumber, p.Size])).toEqual([[1, part1.length], [2, part2.length]]);
    const { UploadId: abandoned } = await cli.api(['create-multipart-upload', '--bucket', 'alpha', '--key', 'mpu/abandoned.bin']) as { UploadId: string };
    const uploads = await cli.api(['list-multipart-uploads', '--bucket', 'alpha', '--prefix', 'mpu/']);
    expect((uploads.Uploads as { Key: string; UploadId: string }[]).map((u) => [u.Key, u.UploadId]))
      .toEqual([['mpu/abandoned.bin', abandoned], ['mpu/done.bin', uploadId]]);

    const completed = await cli.api(['complete-multipart-upload', '--bucket', 'alpha', '--key', 'mpu/done.bin', '--upload-id', uploadId,
      '--multipart-upload', JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) })]);
    expect(completed.ETag).toMatch(/-2"$/);
    expect(await cli.head('mpu/done.bin'))
      .toMatchObject({ ContentLength: part1.length + part2.length, ContentType: 'application/x-test', ETag: completed.ETag });

    await cli.api(['abort-multipart-upload', '--bucket', 'alpha', '--key', 'mpu/abandoned.bin', '--upload-id', abandoned]);
    const gone = await cli.run(['s3api', 'list-parts', '--bucket', 'alpha', '--key', 'mpu/abandoned.bin', '--upload-id', abandoned]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NoSuchUpload');
    expect((await cli.api(['list-multipart-uploads', '--bucket', 'alpha', '--prefix', 'mpu/'])).Uploads).toBeUndefined();
  });

  it('copy-object (metadata copied or replaced) and delete-objects', async ({ expect }) => {
    await writeFile(cli.path('copy.txt'), 'copy me');
    await cli.api(['put-object', '--bucket', 'alpha', '--key', 'copy/src.txt', '--body', cli.path('copy.txt'), '--metadata', 'k=v']);
    const copied = await cli.api(['copy-object', '--bucket', 'alpha', '--key', 'copy/dst.txt', '--copy-source', 'alpha/copy/src.txt']);
    expect((copied.CopyObjectResult as { ETag: string }).ETag).toBe(`"${md5Hex('copy me')}"`);
    expect(await cli.head('copy/dst.txt')).toMatchObject({ ContentLength: 7, Metadata: { k: 'v' } });
    const replaced = await cli.api(['copy-object', '--bucket', 'alpha', '--key', 'copy/dst2.txt', '--copy-source', 'alpha/copy/src.txt',
      '--metadata-directive', 'REPLACE', '--metadata', 'k=new', '--content-type', 'text/x-copied']);
    expect((replaced.CopyObjectResult as { ETag: string }).ETag).toBe(`"${md5Hex('copy me')}"`);
    expect(await cli.head('copy/dst2.txt')).toMatchObject({ ContentType: 'text/x-copied', Metadata: { k: 'new' } });

    const del = await cli.api(['delete-objects', '--bucket', 'alpha', '--delete',
      JSON.stringify({ Objects: [{ Key: 'copy/src.txt' }, { Key: 'copy/dst.txt' }, { Key: 'copy/dst2.txt' }, { Key: 'copy/never-existed' }] })]);
    expect(((del.Deleted as { Key: string }[] | undefined) ?? []).map((d) => d.Key).sort())
      .toEqual(['copy/dst.txt', 'copy/dst2.txt', 'copy/never-existed', 'copy/src.txt']);
    expect(del.Errors).toBeUndefined();
    expect(await cli.keysUnder('copy/')).toEqual([]);
  });
});
