import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3rverInstance {
  endpoint: string;
  port: number;
  bucket: string;
  directory: string;
  /** Graceful stop; removes the directory if it was created here. */
  stop(): Promise<void>;
  /** SIGKILL, for outage tests: the port stops answering at once; `restart()` (or, with `restartOnExit`, the supervisor) brings it back. */
  kill(): void;
  /** Stops the process if it still runs and starts a new one on the same port and directory. */
  restart(): Promise<void>;
  /** The running child's process id (what a test kills to make the backend crash). */
  readonly pid: number | undefined;
}

/** A child that exited on its own while supervised (`restartOnExit`), and what became of it. */
export interface S3rverExit {
  port: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** A new child serves the same port and directory again. */
  restarted: boolean;
  /** Why no new child could be started (after `maxRestartAttempts` tries); set when `restarted` is false. */
  error?: Error;
}

export interface S3rverOptions {
  bucket?: string;
  directory?: string;
  port?: number;
  /**
   * Start a new child on the same port and directory whenever the running one exits without
   * being stopped (a crash, an outside kill), as the demo wants its backends to stay up.
   */
  restartOnExit?: boolean;
  /** Told about every supervised exit, once the restart succeeded or was given up. */
  onExit?: (exit: S3rverExit) => void;
}

/** s3rver could not listen; `code` is the system's (EADDRINUSE: the port is taken). */
export class S3rverStartError extends Error {
  override readonly name = 'S3rverStartError';

  constructor(readonly port: number, readonly code: string | undefined, reason: string) {
    super(`s3rver could not listen on 127.0.0.1:${port}: ${reason}`);
  }
}

/** s3rver accepts any SigV4 signature, but the access key id must be its own. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const childScript = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));
const startTimeoutMs = 15_000;
const stopTimeoutMs = 5_000;
const stderrKeepBytes = 8192;
const maxRestartAttempts = 5;
const restartBackoffMs = 200;

const liveChildren = new Set<ChildProcess>();
const ownedDirectories = new Set<string>();
let exitHookInstalled = false;

/**
 * The last line of defence: no s3rver outlives this process (the child also exits when its IPC
 * channel closes) and no temp directory is left behind by an instance nobody stopped.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const directory of ownedDirectories) rmSync(directory, { recursive: true, force: true });
  });
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningChild {
  process: ChildProcess;
  port: number;
  exited: Promise<ChildExit>;
}

async function spawnChild(directory: string, bucket: string, port: number): Promise<RunningChild> {
  installExitHook();
  const child = fork(childScript, ['--directory', directory, '--bucket', bucket, '--port', String(port)], {
    execArgv: [],
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  liveChildren.add(child);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-stderrKeepBytes);
  });

  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.on('message', (m: { type?: string; port?: number; code?: string; message?: string }) => {
      if (m.type === 'listening' && typeof m.port === 'number') {
        clearTimeout(timer);
        resolve(m.port);
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new S3rverStartError(port, m.code, m.message ?? 'unknown error'));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited during start (code ${code}, signal ${signal}): ${stderr.trim()}`));
    });
  });
  try {
    const actualPort = await listening;
    // A forgotten instance must not keep the test process alive; the exit hook still kills it.
    child.unref();
    child.channel?.unref();
    (child.stderr as Socket | null)?.unref();
    return { process: child, port: actualPort, exited };
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
}

async function stopChild(child: RunningChild): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  // The channel can close between the check and the write (the child is exiting): fall back to a signal.
  if (child.process.connected) child.process.send({ type: 'stop' }, (err) => { if (err) child.process.kill('SIGTERM'); });
  else child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), stopTimeoutMs);
  await child.exited;
  clearTimeout(timer);
}

/** Starts one s3rver in its own process on 127.0.0.1 with `bucket` configured. */
export async function startS3rver(opts: S3rverOptions = {}): Promise<S3rverInstance> {
  const bucket = opts.bucket ?? 'test-bucket';
  const ownsDirectory = opts.directory === undefined;
  const directory = opts.directory ?? await mkdtemp(join(tmpdir(), 's3o-s3rver-'));
  if (ownsDirectory) ownedDirectories.add(directory);
  const removeDirectory = async (): Promise<void> => {
    if (!ownsDirectory) return;
    await rm(directory, { recursive: true, force: true });
    ownedDirectories.delete(directory);
  };
  let child: RunningChild;
  try {
    child = await spawnChild(directory, bucket, opts.port ?? 0);
  } catch (e) {
    await removeDirectory();
    throw e;
  }
  const port = child.port;
  let stopped = false;
  /** Set while `restart()` replaces the child, so the supervisor leaves that exit alone. */
  let replacing = false;
  let respawning: Promise<void> | undefined;

  const respawn = async (exit: ChildExit): Promise<void> => {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= maxRestartAttempts && !stopped; attempt++) {
      try {
        const next = await spawnChild(directory, bucket, port);
        if (stopped) {
          await stopChild(next);
          return;
        }
        child = next;
        supervise(next);
        opts.onExit?.({ port, ...exit, restarted: true });
        return;
      } catch (e) {
        lastError = e as Error;
        await new Promise((resolve) => setTimeout(resolve, restartBackoffMs * attempt));
      }
    }
    if (!stopped) opts.onExit?.({ port, ...exit, restarted: false, ...(lastError ? { error: lastError } : {}) });
  };

  const supervise = (running: RunningChild): void => {
    if (!opts.restartOnExit) return;
    void running.exited.then((exit) => {
      if (stopped || replacing || running !== child) return;
      respawning = respawn(exit).finally(() => { respawning = undefined; });
    });
  };
  supervise(child);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    directory,
    get pid() {
      return child.process.pid;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await respawning;
      await stopChild(child);
      await removeDirectory();
    },
    kill() {
      child.process.kill('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('s3rver instance was stopped; start a new one');
      replacing = true;
      try {
        await stopChild(child);
        child = await spawnChild(directory, bucket, port);
      } finally {
        replacing = false;
      }
      supervise(child);
    },
  };
}
