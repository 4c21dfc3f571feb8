import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { startStack, type TestBackend, type TestStack } from '../../support/orchestrator.js';
import { findTool, makeTempDir, privateEnv, run, runOk, type RunResult } from './client-tools.js';

/** Debian's AWS CLI v2; the pyenv `aws` (v1) that may come first on PATH is deliberately not used. */
export const aws = findTool('AWS CLI', ['/usr/bin/aws'], ['--version'], 'install the Debian package awscli; .ci/run does');

export interface AwsCliHarness {
  stack: TestStack;
  dir: string;
  /** An absolute path inside the private temp directory. */
  path(rel: string): string;
  run(args: string[], extraEnv?: Record<string, string>): Promise<RunResult>;
  /** Runs and requires exit 0; `stdinFile` is piped to the CLI's standard input. */
  ok(args: string[], stdinFile?: string): Promise<RunResult>;
  /** `aws s3api …` with JSON output, parsed. */
  api(args: string[]): Promise<Record<string, unknown>>;
  /**
   * What the gateway holds, read with the JS SDK: checking what a CLI command did costs no
   * extra CLI run (each is about a second of Python start-up).
   */
  head(key: string): Promise<HeadObjectCommandOutput>;
  keysUnder(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A fresh orchestrator (one unlimited backend unless `backends` says otherwise) and an AWS CLI
 * that sees only a private, empty configuration and the alpha keys.
 */
export async function startAwsCli(backends: TestBackend[] = [{ quota: 0 }]): Promise<AwsCliHarness> {
  const bin = aws.path as string;
  const stack = await startStack({ backends });
  const tmp = await makeTempDir('s3o-awscli-');
  const path = (rel: string): string => join(tmp.dir, ...rel.split('/'));
  // Empty config files: nothing from ~/.aws or the process environment reaches the CLI.
  await writeFile(path('aws-config'), '');
  await writeFile(path('aws-credentials'), '');
  const env = privateEnv(tmp.dir, {
    AWS_CONFIG_FILE: path('aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path('aws-credentials'),
    AWS_ACCESS_KEY_ID: 'ALPHAKEY',
    AWS_SECRET_ACCESS_KEY: 'alpha-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    // One attempt: a gateway error must fail the test, not hide behind the CLI's retries.
    AWS_RETRY_MODE: 'standard',
    AWS_MAX_ATTEMPTS: '1',
  });
  const sdk = stack.client('alpha');
  const h: AwsCliHarness = {
    stack,
    dir: tmp.dir,
    path,
    run: (args, extraEnv = {}) => run(bin, ['--endpoint-url', stack.url, ...args], { env: { ...env, ...extraEnv }, cwd: tmp.dir }),
    ok: (args, stdinFile) => runOk(bin, ['--endpoint-url', stack.url, ...args], { env, cwd: tmp.dir, stdinFile }),
    async api(args) {
      const r = await h.ok(['s3api', ...args, '--output', 'json']);
      return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
    },
    head: (key) => sdk.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key })),
    async keysUnder(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await sdk.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async stop() {
      await stack.stop();
      await tmp.remove();
    },
  };
  return h;
}
