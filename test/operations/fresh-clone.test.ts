import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out, err: errOut });
    });
  });
}

/** Every `npx s3o …` command the README shows, as written (without its comment). */
async function readmeCommands(readme: string): Promise<string[][]> {
  const text = await readFile(readme, 'utf8');
  return [...text.matchAll(/^npx s3o ([^#\n]+?)\s*(?:#.*)?$/gm)]
    .map((m) => m[1] ?? '')
    // `admin jobs | job ID | …` lists several commands on one line.
    .flatMap((line) => (line.includes(' | ') ? line.replace(/^admin /, '').split(' | ').map((c) => `admin ${c}`) : [line]))
    .map((line) => line.split(/\s+/).filter((w) => w !== ''));
}

/**
 * A new user's path on a fresh clone (of this repository's HEAD): `npm ci` without engine
 * warnings, then the README's `npx s3o …` commands. Before a build, s3o says to build; after
 * `npm run build`, every README command is a command s3o knows (checked with --help appended,
 * which prints its help and does nothing else), from the checkout's root and from a subdirectory.
 */
describe('a fresh clone', () => {
  it('npm ci, npm run build, and every npx s3o command of the README', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3o-clone-'));
    try {
      const clone = join(dir, 's3o');
      expect((await run('git', ['clone', '--quiet', root, clone], dir)).code).toBe(0);
      const ci = await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], clone);
      expect(ci.code, ci.err).toBe(0);
      expect(ci.err).not.toContain('EBADENGINE');

      const early = await run('npx', ['s3o', 'version'], clone);
      expect(early.code).toBe(1);
      expect(early.err).toContain('s3o is not built yet: run `npm run build`');

      const build = await run('npm', ['run', 'build'], clone);
      expect(build.code, build.err).toBe(0);
      const version = await run('npx', ['s3o', 'version'], join(clone, 'docs'));
      expect(version.code, version.err).toBe(0);
      expect(version.out).toMatch(/^s3-orchestrator \S+ node v/);
      const usage = await run('npx', ['s3o', '--help'], clone);
      expect(usage).toMatchObject({ code: 0, err: '' });

      const commands = await readmeCommands(join(clone, 'README.md'));
      expect(commands.length).toBeGreaterThan(10);
      for (const words of commands) {
        const r = await run('npx', ['s3o', ...words.map((w) => (w === 'ID' ? '01J0000000000000000000000' : w)), '--help'], clone);
        expect(r, `npx s3o ${words.join(' ')} --help`).toMatchObject({ code: 0, err: '' });
        expect(r.out).toMatch(/^usage: s3o /);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
