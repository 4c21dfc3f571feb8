import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand, adminCommands } from '../../ops/cli/admin-command.js';
import { commandHelp } from '../../ops/cli/help.js';

const cli = fileURLToPath(new URL('../../dist/ops/cli/main.js', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/**
 * `--help` anywhere prints that command's help and does nothing else: no request reaches the
 * admin API (a server here counts them), no database or demo starts (its data directory is
 * never created), and the exit code is 0.
 */
describe('s3o --help', () => {
  let dir: string;
  let dataDir: string;
  let adminApi: Server;
  let requests = 0;
  let env: NodeJS.ProcessEnv;

  const s3o = (...argv: string[]): Promise<Run> => new Promise((resolve) => {
    execFile(process.execPath, [cli, ...argv], { env, timeout: 30_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out, err: errOut });
    });
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3o-cli-help-'));
    dataDir = join(dir, 'data');
    adminApi = createServer((req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => adminApi.listen(0, '127.0.0.1', r));
    const address = adminApi.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    env = {
      PATH: process.env.PATH,
      S3O_ADMIN_ADDR: `http://127.0.0.1:${port}`,
      S3O_ADMIN_TOKEN: 'help-test',
      S3O_DATA_DIR: dataDir,
      S3O_LISTEN: `127.0.0.1:${port}`,
    };
  });
  afterAll(async () => {
    await new Promise((r) => adminApi?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const nothingRan = (): void => {
    expect(requests, 'requests to the admin API').toBe(0);
    expect(existsSync(dataDir), 'the demo data directory was created').toBe(false);
  };

  it.each([[], ['--help'], ['-h'], ['help']])('s3o %j prints the usage', async (...argv) => {
    const r = await s3o(...argv);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^s3o \S+ — s3-orchestrator/);
    for (const name of Object.keys(commandHelp)) expect(r.out).toContain(`s3o ${name}`);
    expect(r.out).toContain('s3o admin');
    nothingRan();
  });

  const topLevel: [string, string[]][] = [
    ['serve', []],
    ['serve', ['--config', 'missing.yaml']],
    ['validate', ['--config', 'missing.yaml']],
    ['projections', ['rebuild']],
    ['projections', ['verify', 'objects']],
    ['sync', ['--backend', 'local1', '--bucket', 'demo']],
    ['version', []],
    ['help', []],
  ];
  for (const [name, args] of topLevel) {
    it(`s3o ${name} ${args.join(' ')} with --help or -h anywhere prints its help only`, async () => {
      for (const argv of [[name, ...args, '--help'], [name, '-h', ...args], [name, '--help', ...args]]) {
        const r = await s3o(...argv);
        expect(r, argv.join(' ')).toMatchObject({ code: 0, err: '' });
        expect(r.out).toMatch(new RegExp(`^usage: s3o ${name}\\b`));
      }
      nothingRan();
    });
  }

  it('s3o help <command> prints that command\'s help', async () => {
    expect((await s3o('help', 'sync')).out).toMatch(/^usage: s3o sync/);
    expect((await s3o('help', 'admin')).out).toMatch(/^usage: s3o admin/);
    const unknown = await s3o('help', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command "nope"');
  });

  it('s3o admin --help lists every admin command', async () => {
    for (const argv of [['admin', '--help'], ['admin', '-h'], ['admin', '-help'], ['admin', '--json', '--help']]) {
      const r = await s3o(...argv);
      expect(r, argv.join(' ')).toMatchObject({ code: 0, err: '' });
      for (const c of adminCommands) expect(r.out).toContain(`  ${c.name}`);
    }
    nothingRan();
  });

  const argsFor = (spec: (typeof adminCommands)[number]): string[] => spec.args.filter((a) => !a.endsWith('?')).map((a) => (a.includes('/') ? 'demo/readme.txt' : 'b1'));

  /** `s3o admin …` in-process (the dispatch from s3o to admin is the same for every command). */
  const admin = async (...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await adminCommand(['--addr', env.S3O_ADMIN_ADDR ?? '', '--token', 'help-test', ...argv], {
      out: { write: (s: string) => (out += s) },
      err: { write: (s: string) => (err += s) },
    });
    return { code, out, err };
  };

  for (const spec of adminCommands) {
    it(`s3o admin ${spec.name} --help prints its help and sends nothing`, async () => {
      const args = argsFor(spec);
      const options = spec.options.flatMap((o) => (['state', 'limit', 'set', 'key'].includes(o) ? [`--${o}`, 'x'] : [`--${o}`]));
      for (const argv of [[spec.name, ...args, ...options, '--help'], [spec.name, '-h', ...args], ['--help', spec.name, ...args], [spec.name, ...args, '-help']]) {
        const r = await admin(...argv);
        expect(r, argv.join(' ')).toMatchObject({ code: 0, err: '' });
        expect(r.out).toMatch(new RegExp(`^usage: s3o admin ${spec.name}\\b`));
        expect(r.out).toContain(spec.summary.slice(1));
      }
      nothingRan();
    });
  }

  it.each([['drain', 'b1'], ['rebalance'], ['replicate'], ['remove-backend', 'b1', '--purge', '--confirm']])('s3o admin %s … --help, as typed, does nothing', async (...argv) => {
    const r = await s3o('admin', ...argv, '--help');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(new RegExp(`^usage: s3o admin ${argv[0]}\\b`));
    nothingRan();
  });

  it('an unknown command or option is wrong usage (exit 2), not a failure', async () => {
    const unknown = await s3o('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command "frobnicate"');
    const option = await s3o('serve', '--bogus');
    expect(option.code).toBe(2);
    expect(option.err).toMatch(/Unknown option '--bogus'[\s\S]*usage: s3o serve/);
    nothingRan();
  });
});
