import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { Logger } from '../telemetry/logger.js';
import { newPassword, PASSWORD_FILE, writePrivateFile } from './embedded-postgres-auth.js';
import { stageBinaries, type PostgresBinaries } from './embedded-postgres-binaries.js';

/** The unprivileged account PostgreSQL runs as when we are root (it refuses to run as root). */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

export const SUPERUSER = 's3o';
const CREATED_USER = 's3o-postgres';

/** PostgreSQL gets a minimal environment: none of our secrets, and no PG* variables that could redirect it. */
export function postgresEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C',
    ...(process.env.TZ === undefined ? {} : { TZ: process.env.TZ }),
  };
}

export type DataDirState = 'initialised' | 'missing' | 'empty';

export async function dataDirState(dataDir: string): Promise<DataDirState> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  if (entries.includes('PG_VERSION')) return 'initialised';
  if (entries.length === 0) return 'empty';
  throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory; remove it or choose another data directory`);
}

/**
 * undefined unless we are root. An initialised directory keeps running as its owner; a new one
 * runs as `postgres` if that account exists, else as a system account we create.
 */
export async function resolveRunAs(dataDir: string, state: DataDirState, logger: Logger): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  if (state === 'initialised') {
    const owner = await stat(dataDir);
    if (owner.uid === 0) {
      throw new Error(
        `data directory ${dataDir} is owned by root, but PostgreSQL refuses to run as root; ` +
        `hand it to an unprivileged account, e.g. \`chown -R postgres: ${dataDir}\``,
      );
    }
    return { name: `uid ${owner.uid}`, uid: owner.uid, gid: owner.gid };
  }
  const existing = (await lookUpUser('postgres')) ?? (await lookUpUser(CREATED_USER));
  if (existing !== undefined) return existing;
  const created = await runProcess('useradd', [
    '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', CREATED_USER,
  ]).catch((err: unknown): ProcessResult => ({ code: null, signal: null, output: (err as Error).message }));
  // Exit code 9: a concurrent start created it first.
  if (created.code !== 0 && created.code !== 9) {
    throw new Error(
      `running as root, the embedded PostgreSQL needs an unprivileged account; there is no \`postgres\` account ` +
      `and creating ${CREATED_USER} failed (${created.output.trim()}). Create a \`postgres\` account, or run s3-orchestrator as a non-root user`,
    );
  }
  const user = await lookUpUser(CREATED_USER);
  if (user === undefined) throw new Error(`created the account ${CREATED_USER} but cannot look it up`);
  logger.info({ user: CREATED_USER }, 'created a system account for the embedded PostgreSQL');
  return user;
}

async function lookUpUser(name: string): Promise<RunAs | undefined> {
  const [uid, gid] = await Promise.all([runProcess('id', ['-u', name]), runProcess('id', ['-g', name])]);
  if (uid.code !== 0 || gid.code !== 0) return undefined;
  return { name, uid: Number.parseInt(uid.output, 10), gid: Number.parseInt(gid.output, 10) };
}

/**
 * Fails with the fix when the run-as account cannot reach the data directory. Returns binaries it
 * can run: those installed, or else a copy staged where it can (a checkout under a private
 * directory such as /root, or a 0700 temporary directory, is otherwise out of its reach).
 */
export async function ensureReachable(
  runAs: RunAs, dataDir: string, binaries: PostgresBinaries, logger: Logger,
): Promise<PostgresBinaries> {
  const blockedData = await firstUnenterableDirectory(runAs, dirname(dataDir));
  if (blockedData !== undefined) {
    throw new Error(
      `s3-orchestrator runs as root, so its embedded PostgreSQL runs as ${runAs.name} (uid ${runAs.uid}), ` +
      `which cannot enter ${blockedData} on the way to the data directory ${dataDir}. ` +
      `Choose a data directory that account can reach (e.g. under /var/lib) or allow it through: \`chmod o+x ${blockedData}\``,
    );
  }
  if ((await firstUnenterableDirectory(runAs, dirname(binaries.postgres), binaries.postgres)) === undefined) return binaries;
  const staged = await stageBinaries(binaries);
  const blockedBinary = await firstUnenterableDirectory(runAs, dirname(staged.postgres), staged.postgres);
  if (blockedBinary !== undefined) {
    throw new Error(
      `s3-orchestrator runs as root, so its embedded PostgreSQL runs as ${runAs.name} (uid ${runAs.uid}), ` +
      `which cannot run ${binaries.postgres} nor its copy ${staged.postgres} (blocked at ${blockedBinary}). ` +
      `Allow it through: \`chmod o+x ${blockedBinary}\``,
    );
  }
  logger.info({ postgres: staged.postgres }, `runs PostgreSQL as ${runAs.name} from a copy of its binaries that account can reach`);
  return staged;
}

/** Checks, as `runAs`, each ancestor of `dir` from the root down; returns the first it cannot enter. */
async function firstUnenterableDirectory(runAs: RunAs, dir: string, executable?: string): Promise<string | undefined> {
  const parts = dir.split(sep).filter((part) => part !== '');
  const ancestors = ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
  const script = 'exe=$1; shift; for d in "$@"; do cd -- "$d" 2>/dev/null || { printf %s "$d"; exit 3; }; done; ' +
    'if [ -n "$exe" ] && [ ! -x "$exe" ]; then printf %s "$exe"; exit 3; fi';
  const result = await runProcess('/bin/sh', ['-c', script, 'sh', executable ?? '', ...ancestors], { runAs });
  if (result.code === 0) return undefined;
  if (result.code === 3) return result.output;
  throw new Error(`checking that ${runAs.name} can reach ${dir} failed: ${result.output.trim()}`);
}

/**
 * Runs initdb, with SCRAM authentication for a superuser password generated here and kept in the
 * data directory (mode 0600, see embedded-postgres-auth.ts); returns the password. A missing
 * directory is initialised in a sibling staging directory and renamed into place, so a crash
 * mid-initdb never leaves a half-initialised data directory behind.
 */
export async function initialiseDataDir(
  dataDir: string, state: 'missing' | 'empty', binaries: PostgresBinaries, runAs: RunAs | undefined, logger: Logger,
): Promise<string> {
  const target = state === 'missing' ? join(dirname(dataDir), `.${basename(dataDir)}.s3o-initdb`) : dataDir;
  if (state === 'missing') {
    // We hold the owner lock, so a leftover staging directory is from a crashed start.
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { mode: 0o700 });
  }
  await chmod(target, 0o700);
  if (runAs !== undefined) await chown(target, runAs.uid, runAs.gid);
  // initdb wants an empty directory: the password waits beside it, then moves in.
  const password = newPassword();
  const passwordFile = join(dirname(dataDir), `.${basename(dataDir)}.s3o-password`);
  await writePrivateFile(passwordFile, `${password}\n`, runAs);
  const args = [
    '-D', target, `--username=${SUPERUSER}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', `--pwfile=${passwordFile}`,
    '--encoding=UTF8', '--locale=C', '--no-instructions',
  ];
  logger.info({ dataDir }, 'initialising the embedded PostgreSQL data directory');
  const result = await runProcess(binaries.initdb, args, { runAs });
  logger.debug({ output: result.output }, 'initdb finished');
  if (result.code !== 0) {
    await rm(passwordFile, { force: true });
    throw new Error(`initdb for ${dataDir} failed (exit code ${result.code ?? result.signal}): ${result.output.trim().slice(-2000)}`);
  }
  await rename(passwordFile, join(target, PASSWORD_FILE));
  if (state === 'missing') {
    await rename(target, dataDir);
    await fsyncDirectory(dirname(dataDir));
  }
  return password;
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a short-lived command to completion, collecting stdout and stderr together. */
export function runProcess(command: string, args: string[], options: { runAs?: RunAs | undefined } = {}): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: postgresEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs === undefined ? {} : { uid: options.runAs.uid, gid: options.runAs.gid }),
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolvePromise({ code, signal, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
