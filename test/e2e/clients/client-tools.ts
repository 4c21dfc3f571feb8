import { execFile, execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { accessSync, constants, createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Shared plumbing for the real-client end-to-end tests: finding the Debian-packaged clients,
 * running them with a private environment (nothing of the user's AWS/rclone configuration, CA
 * bundles or proxies leaks in), and deterministic test data.
 */

const execFileAsync = promisify(execFile);

/** The only PATH the clients see: system directories, so a pyenv/venv shim cannot shadow Debian's tools. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Tool {
  /** Absolute path of the executable, when usable. */
  path: string | undefined;
  /** Version line for the report, or why the tool is unusable. */
  description: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function probe(path: string, args: string[]): string | undefined {
  try {
    return execFileSync(path, args, { env: { PATH: SYSTEM_PATH, HOME: tmpdir(), LANG: 'C.UTF-8' }, timeout: 20_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

/** The first of `paths` that is executable and answers `args` (e.g. `--version`) with exit code 0. */
export function findTool(name: string, paths: string[], args: string[], installHint: string): Tool {
  const path = paths.find(executable);
  if (path === undefined) return { path: undefined, description: `${name} not found at ${paths.join(' or ')} (${installHint})` };
  const version = probe(path, args);
  if (version === undefined) return { path: undefined, description: `${name} at ${path} does not run \`${args.join(' ')}\` (${installHint})` };
  return { path, description: `${name} (${path}): ${version}` };
}

/** Prints why a suite is skipped (vitest's skip alone says nothing about the cause) or which client runs. */
export function announce(tool: Tool): void {
  if (tool.path === undefined) console.warn(`SKIPPED: ${tool.description}`);
  else console.log(`using ${tool.description}`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Default 120 s: at load 10 on two cores, AWS CLI multipart runs among ten concurrent cases passed 45 s. */
  timeoutMs?: number;
  /** A file piped to the client's standard input (else stdin is empty). */
  stdinFile?: string;
}

/** Runs a client and returns its exit code and output; never throws for a non-zero exit. */
export async function run(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  try {
    const child = execFileAsync(file, args, {
      env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8',
    });
    const stdin = child.child.stdin;
    if (stdin) {
      // A client that exits before reading all of its input shows that in its exit code; EPIPE is not news.
      stdin.on('error', () => undefined);
      if (opts.stdinFile === undefined) stdin.end();
      else createReadStream(opts.stdinFile).on('error', (e) => stdin.destroy(e)).pipe(stdin);
    }
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number' && e.signal == null) throw err;
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.signal ? `\n[killed by ${String(e.signal)}]` : ''}` };
  }
}

export function describeRun(file: string, args: string[], r: RunResult): string {
  return `$ ${file} ${args.join(' ')}\nexit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

/** Runs a client and fails the test with its full output when it does not exit 0. */
export async function runOk(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`command failed\n${describeRun(file, args, r)}`);
  return r;
}

/** A minimal environment for a client: system PATH, a private HOME, plus the given variables. */
export function privateEnv(home: string, extra: Record<string, string>): Record<string, string> {
  return { PATH: SYSTEM_PATH, HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMPDIR: home, ...extra };
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Pseudo-random but reproducible bytes (AES-256-CTR keystream of the seed), fast enough for tens of MiB. */
export function deterministicBytes(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** Writes files under `root`; keys are relative paths with `/`. */
export async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    const path = join(root, ...rel.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }
}
