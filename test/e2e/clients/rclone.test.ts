import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../../support/orchestrator.js';
import {
  announce, deterministicBytes, findTool, makeTempDir, md5Hex, privateEnv, run, runOk, writeTree, type RunResult,
} from './client-tools.js';

/**
 * rclone's S3 backend (provider "Other", path style) against the orchestrator: copy of a tree
 * with a multipart file, check (which trusts our ETags to be MD5s), lsf, cat, sync with
 * deletions, delete, and mkdir of the bucket that already exists.
 */

const rclone = findTool('rclone', ['/usr/bin/rclone', '/usr/local/bin/rclone'], ['version'], 'install the Debian package rclone; .ci/run does');
announce(rclone);

const MiB = 1024 * 1024;
/** Low enough that the large file goes multipart in 5 MiB parts. */
const multipartFlags = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '').sort();
}

describe.skipIf(rclone.path === undefined)('rclone', () => {
  let stack: TestStack;
  let tmp: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;
  const bin = rclone.path as string;
  const path = (rel: string): string => join(tmp.dir, ...rel.split('/'));
  // One attempt per operation: errors must fail the test, not be retried away.
  const common = ['--retries', '1', '--low-level-retries', '1', '--contimeout', '10s', '--timeout', '30s'];
  const rcRun = (args: string[]): Promise<RunResult> => run(bin, [...args, ...common], { env, cwd: tmp.dir });
  const rcOk = (args: string[]): Promise<RunResult> => runOk(bin, [...args, ...common], { env, cwd: tmp.dir });

  const tree: Record<string, Buffer> = {};
  for (let i = 0; i < 40; i++) tree[`docs/${['a', 'b', 'c', 'd'][i % 4]}/note-${i}.txt`] = Buffer.from(deterministicBytes(50 + i * 7, `rclone-${i}`).toString('hex'));
  tree['top.txt'] = Buffer.from('top level file\n');
  tree['media/large.bin'] = deterministicBytes(12 * MiB, 'rclone-large');

  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }] });
    tmp = await makeTempDir('s3o-rclone-');
    const config = [
      '[orch]',
      'type = s3',
      'provider = Other',
      'env_auth = false',
      'access_key_id = ALPHAKEY',
      'secret_access_key = alpha-secret',
      'region = us-east-1',
      `endpoint = ${stack.url}`,
      'force_path_style = true',
      '',
      '[wrongkey]',
      'type = s3',
      'provider = Other',
      'env_auth = false',
      'access_key_id = ALPHAKEY',
      'secret_access_key = not-the-secret',
      'region = us-east-1',
      `endpoint = ${stack.url}`,
      'force_path_style = true',
      '',
    ].join('\n');
    await writeFile(path('rclone.conf'), config);
    env = privateEnv(tmp.dir, { RCLONE_CONFIG: path('rclone.conf'), XDG_CACHE_HOME: path('cache'), XDG_CONFIG_HOME: path('config') });
    await writeTree(path('src'), tree);
  });
  afterAll(async () => {
    await stack?.stop();
    await tmp?.remove();
  });

  it('mkdir of the existing bucket succeeds (CreateBucket answers BucketAlreadyOwnedByYou)', async () => {
    await rcOk(['mkdir', 'orch:alpha']);
  });

  it('copy of a tree with a multipart file, then check reports 0 differences', async () => {
    await rcOk(['copy', 'src', 'orch:alpha/tree', '--transfers', '8', ...multipartFlags]);
    const head = await stack.client().send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'tree/media/large.bin' }));
    expect(head.ContentLength).toBe(12 * MiB);
    expect(head.ETag, 'the large file went multipart in 5 MiB parts').toMatch(/^"[0-9a-f]{32}-3"$/);

    const check = await rcRun(['check', 'src', 'orch:alpha/tree']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain('0 differences found');
    expect(check.stderr).toContain(`${Object.keys(tree).length} matching files`);
    // The small files are compared by ETag = MD5: every one of them was hashed, none skipped.
    expect(check.stderr).not.toMatch(/hashes could not be checked|no hashes in common/);
  });

  it('lsf lists directories and files, recursively with sizes and hashes', async () => {
    expect(lines((await rcOk(['lsf', 'orch:alpha/tree'])).stdout)).toEqual(['docs/', 'media/', 'top.txt']);
    expect(lines((await rcOk(['lsf', 'orch:alpha/tree/docs'])).stdout)).toEqual(['a/', 'b/', 'c/', 'd/']);
    const all = lines((await rcOk(['lsf', '-R', '--files-only', '--format', 'psh', '--separator', ';', 'orch:alpha/tree'])).stdout);
    expect(all).toEqual(Object.entries(tree).map(([rel, data]) => `${rel};${data.length};${md5Hex(data)}`).sort());
  });

  it('cat prints an object, and copy back gives byte-identical files', async () => {
    expect((await rcOk(['cat', 'orch:alpha/tree/top.txt'])).stdout).toBe('top level file\n');
    expect((await rcOk(['cat', 'orch:alpha/tree/docs/b/note-1.txt', '--offset', '10', '--count', '20'])).stdout)
      .toBe(tree['docs/b/note-1.txt']?.subarray(10, 30).toString());
    await rcOk(['copy', 'orch:alpha/tree', 'back']);
    for (const [rel, data] of Object.entries(tree)) expect(md5Hex(await readFile(path(`back/${rel}`))), rel).toBe(md5Hex(data));
  });

  it('sync mirrors changes and deletions', async () => {
    await writeTree(path('mirror'), { 'keep.txt': 'keep', 'change.txt': 'before', 'drop/one.txt': '1', 'drop/two.txt': '2' });
    await rcOk(['sync', 'mirror', 'orch:alpha/mirror']);
    expect(lines((await rcOk(['lsf', '-R', '--files-only', 'orch:alpha/mirror'])).stdout)).toEqual(['change.txt', 'drop/one.txt', 'drop/two.txt', 'keep.txt']);

    await rm(path('mirror/drop'), { recursive: true });
    await writeFile(path('mirror/change.txt'), 'after the change');
    await writeFile(path('mirror/new.txt'), 'new');
    const sync = await rcOk(['sync', 'mirror', 'orch:alpha/mirror', '-v']);
    expect(sync.stderr).toMatch(/Deleted:\s+2 \(files\)/);
    expect(lines((await rcOk(['lsf', '-R', '--files-only', 'orch:alpha/mirror'])).stdout)).toEqual(['change.txt', 'keep.txt', 'new.txt']);
    expect((await rcOk(['cat', 'orch:alpha/mirror/change.txt'])).stdout).toBe('after the change');
    const check = await rcRun(['check', 'mirror', 'orch:alpha/mirror']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain('0 differences found');
    // Nothing left to do.
    const again = await rcOk(['sync', 'mirror', 'orch:alpha/mirror', '-v']);
    expect(again.stderr).toContain('There was nothing to transfer');
    // Same content, older mtime: rclone updates the stored mtime with a copy onto itself (REPLACE directive).
    const then = new Date('2020-01-02T03:04:05Z');
    await utimes(path('mirror/keep.txt'), then, then);
    const touched = await rcOk(['sync', 'mirror', 'orch:alpha/mirror', '-v']);
    expect(touched.stderr).toContain('keep.txt: Updated modification time in destination');
    expect((await rcOk(['lsl', 'orch:alpha/mirror/keep.txt'])).stdout).toContain('2020-01-02 03:04:05.000000000 keep.txt');
    expect((await rcOk(['cat', 'orch:alpha/mirror/keep.txt'])).stdout).toBe('keep');
  });

  it('delete removes the filtered files only', async () => {
    await writeTree(path('del'), { 'a.log': 'a', 'b.log': 'b', 'c.txt': 'c', 'sub/d.log': 'd', 'sub/e.txt': 'e' });
    await rcOk(['copy', 'del', 'orch:alpha/del']);
    await rcOk(['delete', 'orch:alpha/del', '--include', '*.log']);
    expect(lines((await rcOk(['lsf', '-R', '--files-only', 'orch:alpha/del'])).stdout)).toEqual(['c.txt', 'sub/e.txt']);
    await rcOk(['delete', 'orch:alpha/del']);
    expect((await rcOk(['lsf', '-R', 'orch:alpha/del'])).stdout).toBe('');
  });

  it('names with spaces, reserved characters and non-ASCII survive copy, check, lsf and link', async () => {
    const names = ['with space.txt', 'plus+sign.txt', 'percent%41.txt', 'ünïcödé-ключ-日本.txt', 'amp&eq=semi;comma,.txt', 'quote\'dq"hash#q?.txt', 'star*dollar$at@!.txt'];
    await writeTree(path('weird'), Object.fromEntries(names.map((n) => [`d ir/${n}`, n])));
    await rcOk(['copy', 'weird', 'orch:alpha/weird']);
    const check = await rcRun(['check', 'weird', 'orch:alpha/weird']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain(`${names.length} matching files`);
    expect(lines((await rcOk(['lsf', 'orch:alpha/weird/d ir'])).stdout)).toEqual([...names].sort());
    // rclone link: a presigned URL any HTTP client can fetch.
    const link = (await rcOk(['link', `orch:alpha/weird/d ir/${names[3] as string}`, '--expire', '1h'])).stdout.trim();
    const res = await fetch(link);
    expect(res.status, link).toBe(200);
    expect(await res.text()).toBe(names[3]);
  });

  it('moveto renames server-side, rcat uploads from stdin', async () => {
    await writeTree(path('mv'), { 'from.txt': 'move me' });
    await rcOk(['copy', 'mv', 'orch:alpha/mv']);
    await rcOk(['moveto', 'orch:alpha/mv/from.txt', 'orch:alpha/mv/sub/to.txt']);
    expect(lines((await rcOk(['lsf', '-R', '--files-only', 'orch:alpha/mv'])).stdout)).toEqual(['sub/to.txt']);
    expect((await rcOk(['cat', 'orch:alpha/mv/sub/to.txt'])).stdout).toBe('move me');
    // A stream of unknown length above the cutoff goes multipart.
    const streamed = deterministicBytes(7 * MiB, 'rclone-rcat');
    await writeFile(path('rcat.bin'), streamed);
    await runOk(bin, ['rcat', 'orch:alpha/mv/streamed.bin', ...multipartFlags, ...common], { env, cwd: tmp.dir, stdinFile: path('rcat.bin') });
    const head = await stack.client().send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'mv/streamed.bin' }));
    expect(head.ContentLength).toBe(streamed.length);
    expect(head.ETag).toMatch(/-2"$/);
    await rcOk(['copyto', 'orch:alpha/mv/streamed.bin', 'streamed.back']);
    expect(md5Hex(await readFile(path('streamed.back')))).toBe(md5Hex(streamed));
  });

  it('backend list-multipart-uploads and cleanup abort a pending upload', async () => {
    const s3 = stack.client();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'pending/upload.bin' }));
    const listed = JSON.parse((await rcOk(['backend', 'list-multipart-uploads', 'orch:alpha'])).stdout) as Record<string, { Key: string; UploadId: string }[]>;
    expect(listed.alpha?.map((u) => [u.Key, u.UploadId])).toEqual([['pending/upload.bin', UploadId]]);
    // Older than 1 ms: the upload just created qualifies once a moment has passed.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await rcOk(['backend', 'cleanup', 'orch:alpha', '-o', 'max-age=1ms']);
    const after = JSON.parse((await rcOk(['backend', 'list-multipart-uploads', 'orch:alpha'])).stdout) as Record<string, unknown[] | null>;
    expect(after.alpha ?? []).toEqual([]);
  });

  it('a wrong secret fails with a non-zero exit and SignatureDoesNotMatch', async () => {
    const r = await rcRun(['lsf', 'wrongkey:alpha']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SignatureDoesNotMatch|AccessDenied/);
  });
});
