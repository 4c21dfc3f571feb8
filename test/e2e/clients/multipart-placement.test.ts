import { readFile, writeFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectConsistent } from '../../support/s3-e2e.js';
import { aws, startAwsCli, type AwsCliHarness } from './aws-cli-support.js';
import { announce, deterministicBytes, findTool, md5Hex, run, runOk } from './client-tools.js';

/**
 * Multipart uploads by real clients when the first backend in the configuration (the one `pack`
 * fills first) is nearly full and another has room, as with the demo's quotas after a while:
 * the upload's size is unknown when it starts, so it goes where the most room is, and
 * `aws s3 cp` of 20 MiB and s3cmd's 50 MiB upload succeed instead of answering 507.
 */

const s3cmd = findTool('s3cmd', ['/usr/bin/s3cmd'], ['--version'], 'install the Debian package s3cmd; .ci/run does');
announce(aws);
announce(s3cmd);

const MiB = 1024 * 1024;

async function backendsOf(cli: AwsCliHarness, key: string): Promise<string[]> {
  const res = await cli.stack.db.pool.query<{ backend: string }>('SELECT backend FROM object_copies WHERE bucket = $1 AND key = $2', ['alpha', key]);
  return res.rows.map((r) => r.backend);
}

describe.skipIf(aws.path === undefined || s3cmd.path === undefined)('multipart uploads by real clients beside a nearly full backend', { timeout: 180_000 }, () => {
  let cli: AwsCliHarness;
  beforeAll(async () => {
    cli = await startAwsCli([{ quota: 4 * MiB }, { quota: 80 * MiB }]);
    // b1, first in the configuration, is nearly full: 3.5 MiB of 4 MiB.
    await cli.stack.client('alpha').send(new PutObjectCommand({ Bucket: 'alpha', Key: 'filler', Body: deterministicBytes(3.5 * MiB, 'filler') }));
    expect(await backendsOf(cli, 'filler')).toEqual(['b1']);
  });
  afterAll(async () => cli?.stop());

  it('aws s3 cp of 20 MiB (multipart, parallel parts) lands on the backend with room', async () => {
    const data = deterministicBytes(20 * MiB, 'awscli-20');
    await writeFile(cli.path('twenty.bin'), data);
    await cli.ok(['s3', 'cp', cli.path('twenty.bin'), 's3://alpha/big/twenty.bin', '--no-progress']);
    expect(await backendsOf(cli, 'big/twenty.bin')).toEqual(['b2']);
    await cli.ok(['s3', 'cp', 's3://alpha/big/twenty.bin', cli.path('twenty.back'), '--no-progress']);
    expect(md5Hex(await readFile(cli.path('twenty.back')))).toBe(md5Hex(data));
  });

  it('s3cmd put of 50 MiB (15 MiB parts) lands on the backend with room', async () => {
    const bin = s3cmd.path as string;
    const port = new URL(cli.stack.url).port;
    await writeFile(cli.path('s3cfg'), [
      '[default]', 'access_key = ALPHAKEY', 'secret_key = alpha-secret', `host_base = 127.0.0.1:${port}`, `host_bucket = 127.0.0.1:${port}`,
      'use_https = False', 'signature_v2 = False', 'bucket_location = us-east-1', 'multipart_chunk_size_mb = 15', '',
    ].join('\n'));
    const data = deterministicBytes(50 * MiB, 's3cmd-50');
    await writeFile(cli.path('fifty.bin'), data);
    const env = { PATH: '/usr/bin:/bin', HOME: cli.dir, LANG: 'C.UTF-8', TMPDIR: cli.dir };
    const put = await run(bin, ['-c', cli.path('s3cfg'), '--no-progress', 'put', cli.path('fifty.bin'), 's3://alpha/big/fifty.bin'], { env, cwd: cli.dir, timeoutMs: 150_000 });
    expect(put.code, put.stderr).toBe(0);
    expect(await backendsOf(cli, 'big/fifty.bin')).toEqual(['b2']);
    await runOk(bin, ['-c', cli.path('s3cfg'), '--no-progress', 'get', 's3://alpha/big/fifty.bin', cli.path('fifty.back')], { env, cwd: cli.dir, timeoutMs: 150_000 });
    expect(md5Hex(await readFile(cli.path('fifty.back')))).toBe(md5Hex(data));
  });

  it('usage equals the live copies, nothing pending', async () => {
    await expectConsistent(cli.stack, { allowPendingCleanup: true });
    const usage = await cli.stack.db.pool.query<{ backend: string; bytes_used: string; pending_bytes: string }>('SELECT backend, bytes_used, pending_bytes FROM backend_usage ORDER BY backend');
    expect(usage.rows.map((r) => [r.backend, Number(r.bytes_used), Number(r.pending_bytes)])).toEqual([['b1', 3.5 * MiB, 0], ['b2', 70 * MiB, 0]]);
  });
});
