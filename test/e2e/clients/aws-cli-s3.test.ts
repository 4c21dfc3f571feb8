import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { aws, startAwsCli, type AwsCliHarness } from './aws-cli-support.js';
import { announce, deterministicBytes, md5Hex, writeTree } from './client-tools.js';

/**
 * The AWS CLI v2's high-level `s3` commands against the orchestrator: multipart uploads with
 * parallel parts, parallel ranged downloads, ls, sync, mv, rm, presign, and refused credentials.
 */

announce(aws);

const MiB = 1024 * 1024;

/** The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, then `-<count>`. */
function multipartEtag(data: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let off = 0; off < data.length; off += partSize) digests.push(createHash('md5').update(data.subarray(off, off + partSize)).digest());
  return `"${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}"`;
}

/** A promise the case that makes something settles for a case that needs it. */
function deferred(): { promise: Promise<unknown>; resolve(v: Promise<unknown>): void } {
  let resolve!: (v: Promise<unknown>) => void;
  const promise = new Promise<unknown>((r) => { resolve = r; });
  // A failed upload fails its own case; the waiting case fails with the same error.
  promise.catch(() => undefined);
  return { promise, resolve };
}

/** `aws s3 ls` lines as [size, key] (dates dropped), or ['PRE', prefix]. */
function lsEntries(stdout: string): string[][] {
  return stdout.trim().split('\n').map((l) => l.trim()).map((l) => (l.startsWith('PRE ') ? l.split(/\s+/) : l.split(/\s+/).slice(2)));
}

// Each CLI run costs about a second of CPU (Python imports): generous per-test time for loaded CI
// machines. What a command stored is checked with the JS SDK (cli.head, cli.keysUnder), not with
// more CLI runs. The cases use separate keys and run concurrently: most of their time is the CLI's
// start-up, not the gateway.
describe.skipIf(aws.path === undefined).concurrent('AWS CLI s3 commands', { timeout: 180_000 }, () => {
  let cli: AwsCliHarness;
  const largeUploaded = deferred();
  beforeAll(async () => {
    cli = await startAwsCli();
  });
  afterAll(async () => cli?.stop());

  it('s3 cp uploads and downloads a small file', async ({ expect }) => {
    await writeFile(cli.path('small.txt'), 'hello from the aws cli\n');
    await cli.ok(['s3', 'cp', cli.path('small.txt'), 's3://alpha/cp/small.txt', '--content-type', 'text/plain', '--no-progress']);
    const head = await cli.head('cp/small.txt');
    expect(head).toMatchObject({ ContentLength: 23, ETag: `"${md5Hex('hello from the aws cli\n')}"`, ContentType: 'text/plain' });
    const back = await cli.ok(['s3', 'cp', 's3://alpha/cp/small.txt', '-']);
    expect(back.stdout).toBe('hello from the aws cli\n');
  });

  it('s3 cp of a 20 MiB file goes multipart with parallel parts and downloads byte-identical', async ({ expect }) => {
    const data = deterministicBytes(20 * MiB, 'awscli-large');
    await writeFile(cli.path('large.bin'), data);
    const uploaded = cli.ok(['s3', 'cp', cli.path('large.bin'), 's3://alpha/cp/large.bin', '--no-progress']);
    largeUploaded.resolve(uploaded);
    await uploaded;
    const head = await cli.head('cp/large.bin');
    // The CLI's defaults: 8 MiB threshold and part size, so three parts, uploaded concurrently.
    expect(head).toMatchObject({ ContentLength: data.length, ETag: multipartEtag(data, 8 * MiB) });
    // Downloads above the threshold are parallel ranged GETs.
    await cli.ok(['s3', 'cp', 's3://alpha/cp/large.bin', cli.path('large.back.bin'), '--no-progress']);
    const back = await readFile(cli.path('large.back.bin'));
    expect(back.length).toBe(data.length);
    expect(md5Hex(back)).toBe(md5Hex(data));
  });

  it('s3 cp and s3 mv between S3 paths: a 20 MiB object is copied with a multipart copy', async ({ expect }) => {
    const data = deterministicBytes(20 * MiB, 'awscli-large');
    // The source is the multipart object the case above uploads.
    await largeUploaded.promise;
    // Server-side: UploadPartCopy per 8 MiB part, after HeadObject and GetObjectTagging on the source.
    await cli.ok(['s3', 'cp', 's3://alpha/cp/large.bin', 's3://alpha/cp/large-copy.bin', '--no-progress']);
    await cli.ok(['s3', 'mv', 's3://alpha/cp/large-copy.bin', 's3://alpha/cp/large-moved.bin', '--no-progress']);
    expect(await cli.keysUnder('cp/large')).toEqual(['cp/large-moved.bin', 'cp/large.bin']);
    const head = await cli.head('cp/large-moved.bin');
    expect(head).toMatchObject({ ContentLength: data.length, ETag: multipartEtag(data, 8 * MiB) });
    await cli.ok(['s3', 'cp', 's3://alpha/cp/large-moved.bin', cli.path('large.moved.bin'), '--no-progress']);
    expect(md5Hex(await readFile(cli.path('large.moved.bin')))).toBe(md5Hex(data));
  });

  it('s3 cp from stdin (unknown length, multipart) and of an empty file', async ({ expect }) => {
    const data = deterministicBytes(10 * MiB, 'awscli-stdin');
    await writeFile(cli.path('stdin.bin'), data);
    await cli.ok(['s3', 'cp', '-', 's3://alpha/stdin/piped.bin', '--no-progress'], cli.path('stdin.bin'));
    expect(await cli.head('stdin/piped.bin'))
      .toMatchObject({ ContentLength: data.length, ETag: multipartEtag(data, 8 * MiB) });
    await writeFile(cli.path('empty.txt'), '');
    await cli.ok(['s3', 'cp', cli.path('empty.txt'), 's3://alpha/stdin/empty.txt', '--no-progress']);
    expect(await cli.head('stdin/empty.txt')).toMatchObject({ ContentLength: 0, ETag: `"${md5Hex('')}"` });
    await cli.ok(['s3', 'cp', 's3://alpha/stdin/empty.txt', cli.path('empty.back.txt'), '--no-progress']);
    expect(await readFile(cli.path('empty.back.txt'), 'utf8')).toBe('');
  });

  it('s3 sync round-trips keys with spaces, reserved characters and non-ASCII', async ({ expect }) => {
    const names = ['with space.txt', 'plus+sign.txt', 'percent%41.txt', 'tilde~x.txt', 'ünïcödé-ключ-日本.txt', 'paren(1)[2]{3}.txt',
      'amp&eq=semi;comma,.txt', 'quote\'dq"hash#q?.txt', 'star*dollar$at@!.txt'];
    await writeTree(cli.path('weird-up'), Object.fromEntries(names.map((n) => [`d ir/${n}`, n])));
    const up = await cli.ok(['s3', 'sync', 'weird-up', 's3://alpha/weird/', '--no-progress']);
    expect(up.stdout.match(/^upload: /gm)?.length, up.stdout).toBe(names.length);
    expect((await cli.ok(['s3', 'sync', 'weird-up', 's3://alpha/weird/', '--no-progress'])).stdout.trim()).toBe('');
    expect(await cli.keysUnder('weird/')).toEqual(names.map((n) => `weird/d ir/${n}`).sort());
    await cli.ok(['s3', 'sync', 's3://alpha/weird/', 'weird-down', '--no-progress']);
    for (const n of names) expect(await readFile(cli.path(`weird-down/d ir/${n}`), 'utf8')).toBe(n);
  });

  it('s3 ls lists a prefix as directories and files, and --recursive lists every key', async ({ expect }) => {
    await writeTree(cli.path('ls-src'), { 'top.txt': 't', 'a/one.txt': '1', 'a/b/two.txt': '22', 'c/three.txt': '333' });
    await cli.ok(['s3', 'cp', cli.path('ls-src'), 's3://alpha/ls/', '--recursive', '--no-progress']);
    // Listings change nothing: they run at once.
    const [top, dir, partial, recursive, buckets] = await Promise.all([
      ['s3://alpha/ls/'], ['s3://alpha/ls/a/'], ['s3://alpha/ls/t'], ['s3://alpha/ls/', '--recursive'], [],
    ].map(async (args) => (await cli.ok(['s3', 'ls', ...args])).stdout));
    expect(lsEntries(top as string)).toEqual([['PRE', 'a/'], ['PRE', 'c/'], ['1', 'top.txt']]);
    expect(lsEntries(dir as string)).toEqual([['PRE', 'b/'], ['1', 'one.txt']]);
    // A prefix that is not a "directory": everything starting with it.
    expect(lsEntries(partial as string)).toEqual([['1', 'top.txt']]);
    expect(lsEntries(recursive as string)).toEqual([
      ['2', 'ls/a/b/two.txt'], ['1', 'ls/a/one.txt'], ['3', 'ls/c/three.txt'], ['1', 'ls/top.txt'],
    ]);
    expect((buckets as string).trim()).toMatch(/^\S+ \S+ alpha$/);
  });

  it('s3 sync uploads and downloads a tree, and a second sync copies nothing', async ({ expect }) => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) files[`d${i % 3}/f${i}.dat`] = deterministicBytes(1000 + i * 37, `sync-${i}`);
    await writeTree(cli.path('sync-up'), files);
    const up = await cli.ok(['s3', 'sync', 'sync-up', 's3://alpha/sync/', '--no-progress']);
    expect(up.stdout.match(/^upload: /gm)?.length, up.stdout).toBe(12);
    const again = await cli.ok(['s3', 'sync', 'sync-up', 's3://alpha/sync/', '--no-progress']);
    expect(again.stdout.trim()).toBe('');

    const down = await cli.ok(['s3', 'sync', 's3://alpha/sync/', 'sync-down', '--no-progress']);
    expect(down.stdout.match(/^download: /gm)?.length, down.stdout).toBe(12);
    for (const [rel, data] of Object.entries(files)) expect(md5Hex(await readFile(cli.path(`sync-down/${rel}`))), rel).toBe(md5Hex(data));
    const downAgain = await cli.ok(['s3', 'sync', 's3://alpha/sync/', 'sync-down', '--no-progress']);
    expect(downAgain.stdout.trim()).toBe('');

    // A changed file and a deleted one: only those move, with --delete.
    await writeFile(cli.path('sync-up/d0/f0.dat'), 'changed');
    await rm(cli.path('sync-up/d2/f2.dat'));
    const delta = await cli.ok(['s3', 'sync', 'sync-up', 's3://alpha/sync/', '--delete', '--no-progress']);
    expect(delta.stdout.trim().split('\n').sort()).toEqual([
      'delete: s3://alpha/sync/d2/f2.dat',
      'upload: sync-up/d0/f0.dat to s3://alpha/sync/d0/f0.dat',
    ]);
    const changed = await cli.stack.client('alpha').send(new GetObjectCommand({ Bucket: 'alpha', Key: 'sync/d0/f0.dat' }));
    expect(await changed.Body?.transformToString()).toBe('changed');
    expect(await cli.keysUnder('sync/')).toHaveLength(11);
  });

  it('s3 mv moves an object and s3 rm --recursive empties a prefix', async ({ expect }) => {
    await writeTree(cli.path('mv-src'), { 'x.txt': 'x', 'y/z.txt': 'zz', 'y/w.txt': 'www' });
    await cli.ok(['s3', 'cp', cli.path('mv-src'), 's3://alpha/mv/', '--recursive', '--no-progress']);
    await cli.ok(['s3', 'mv', 's3://alpha/mv/x.txt', 's3://alpha/mv/moved/x.txt', '--no-progress']);
    expect(await cli.keysUnder('mv/')).toEqual(['mv/moved/x.txt', 'mv/y/w.txt', 'mv/y/z.txt']);
    const removed = await cli.ok(['s3', 'rm', 's3://alpha/mv/', '--recursive']);
    expect(removed.stdout.match(/^delete: /gm)?.length, removed.stdout).toBe(3);
    expect(await cli.keysUnder('mv/')).toEqual([]);
  });

  it('s3 presign gives a URL a plain HTTP client can fetch, and a tampered one is refused', async ({ expect }) => {
    await writeFile(cli.path('presign.txt'), 'presigned content');
    // A key that needs percent-encoding in the signed path.
    await cli.ok(['s3', 'cp', cli.path('presign.txt'), 's3://alpha/presign/ü file+x&y.txt', '--no-progress']);
    const url = (await cli.ok(['s3', 'presign', 's3://alpha/presign/ü file+x&y.txt', '--expires-in', '600'])).stdout.trim();
    expect(url).toContain('X-Amz-Signature=');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('presigned content');
    const denied = await fetch(url.replace('%2Bx', '%2Bz'));
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('a wrong secret or another bucket\'s key fails with a non-zero exit and the S3 error code', async ({ expect }) => {
    const badSecret = await cli.run(['s3', 'ls', 's3://alpha/'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    expect(badSecret.code, badSecret.stderr).not.toBe(0);
    expect(badSecret.stderr).toMatch(/SignatureDoesNotMatch|AccessDenied/);
    // An upload above 1 MiB is sent with Expect: 100-continue and refused before its body.
    await writeFile(cli.path('refused.bin'), deterministicBytes(2 * MiB, 'refused'));
    const badUpload = await cli.run(['s3', 'cp', cli.path('refused.bin'), 's3://alpha/refused.bin', '--no-progress'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    expect(badUpload.code, badUpload.stderr).not.toBe(0);
    expect(badUpload.stderr).toMatch(/SignatureDoesNotMatch|AccessDenied/);
    const otherBucket = await cli.run(['s3', 'cp', cli.path('refused.bin'), 's3://alpha/refused.bin', '--no-progress'], { AWS_ACCESS_KEY_ID: 'BETAKEY', AWS_SECRET_ACCESS_KEY: 'beta-secret' });
    expect(otherBucket.code, otherBucket.stderr).not.toBe(0);
    expect(otherBucket.stderr).toMatch(/AccessDenied/);
    expect(await cli.keysUnder('refused')).toEqual([]);
  });
});
