import { spawn } from 'node:child_process';
import { readFile, readlink, realpath, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../telemetry/logger.js';
import type { PostgresBinaries } from './embedded-postgres-binaries.js';
import { isProcessAlive } from './embedded-postgres-lock.js';
import { PostgresLogForwarder } from './embedded-postgres-log.js';
import { postgresEnv, SUPERUSER, type RunAs } from './embedded-postgres-setup.js';

const READY_TIMEOUT_MS = 60_000;
const PORT_ATTEMPTS = 5;
/** Fast shutdown first; immediate shutdown (crash recovery on next start) and SIGKILL only if it hangs. */
const STOP_SIGNALS: ReadonlyArray<readonly [NodeJS.Signals, number]> = [['SIGINT', 30_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]];
/** Connection errors that mean "not up yet": refused, reset, timed out (no code), or 57P03 cannot_connect_now. */
const NOT_READY_CODES = new Set([undefined, 'ECONNREFUSED', 'ECONNRESET', '57P03']);

export interface PostgresServer {
  readonly pid: number;
  readonly port: number;
  /** Fast shutdown, escalating if it hangs; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
  /** For `process.on('exit')`: asks for a fast shutdown that finishes after we are gone. */
  stopSync(): void;
}

interface LaunchOptions {
  binaries: PostgresBinaries;
  dataDir: string;
  port: number | undefined;
  runAs: RunAs | undefined;
  /** The superuser's; undefined for a data directory that still trusts local connections. */
  password: string | undefined;
  logger: Logger;
}

class PortTakenError extends Error {}

/** Starts the server and resolves once it accepts connections; on a chosen port that got taken, tries another. */
export async function launchPostgres(options: LaunchOptions): Promise<PostgresServer> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    const server = spawnPostgres(options, port);
    try {
      await waitUntilReady(server, options.dataDir, options.password, deadline);
      server.markReady();
      return server;
    } catch (err) {
      await server.stop();
      if (!(err instanceof PortTakenError) || options.port !== undefined || attempt >= PORT_ATTEMPTS) throw err;
      options.logger.debug({ port }, 'port was taken before PostgreSQL could bind it; trying another');
    }
  }
}

interface SpawnedServer extends PostgresServer {
  /** Why the process ended, or undefined while it runs. */
  exitStatus(): string | undefined;
  /** Resolves once the process ended and its output is drained. */
  readonly closed: Promise<void>;
  readonly log: PostgresLogForwarder;
  markReady(): void;
}

function spawnPostgres(options: LaunchOptions, port: number): SpawnedServer {
  const { logger, runAs } = options;
  const settings = [
    'listen_addresses=127.0.0.1',
    // No Unix socket: we only connect over TCP, and socket paths under a deep data directory exceed the 107-byte limit.
    'unix_socket_directories=',
    'fsync=on', 'synchronous_commit=on', 'full_page_writes=on',
    'max_connections=100', 'shared_buffers=128MB',
    // Failed statements' text may carry data we must not log; the error itself is still logged.
    'log_min_error_statement=panic',
  ];
  const child = spawn(options.binaries.postgres, ['-D', options.dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
    env: postgresEnv(),
    // Its own process group, so a Ctrl-C in the terminal reaches only us and we stop it after draining.
    detached: true,
    // The server logs to stderr; stdout carries nothing.
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(runAs === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
  });
  const log = new PostgresLogForwarder(logger);
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  let exit: string | undefined;
  let ready = false;
  let expected = false;
  const closed = new Promise<void>((resolveClosed) => {
    child.once('error', (err) => {
      if (child.pid !== undefined) return;
      exit = `could not be started: ${err.message}`;
      resolveClosed();
    });
    child.once('close', (code, signal) => {
      exit = signal === null ? `exit code ${code}` : `killed by ${signal}`;
      log.end();
      resolveClosed();
    });
  });
  void closed.then(() => {
    if (ready && !expected) logger.error({ exit, log: log.tailText() }, 'embedded PostgreSQL exited unexpectedly');
  });
  const waitClosed = async (ms: number): Promise<boolean> =>
    Promise.race([closed.then(() => true), sleep(ms, false, { ref: false })]);
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid ?? 0,
    port,
    closed,
    log,
    exitStatus: () => exit,
    markReady: () => { ready = true; },
    stop() {
      expected = true;
      stopping ??= exit === undefined
        ? terminate((signal) => child.kill(signal), waitClosed, logger, `PostgreSQL (pid ${child.pid})`)
        : Promise.resolve();
      return stopping;
    },
    stopSync() {
      expected = true;
      if (exit === undefined) child.kill('SIGINT');
    },
  };
}

async function waitUntilReady(server: SpawnedServer, dataDir: string, password: string | undefined, deadline: number): Promise<void> {
  for (;;) {
    const status = server.exitStatus();
    if (status !== undefined) {
      await server.closed;
      if (server.log.tailIncludes('Address already in use')) throw new PortTakenError(`port ${server.port} on 127.0.0.1 is already in use; choose another or leave the port unset`);
      throw new Error(`embedded PostgreSQL exited during start-up (${status}); its log ends:\n${server.log.tailText()}`);
    }
    const client = new pg.Client({
      host: '127.0.0.1', port: server.port, user: SUPERUSER, password, database: 'postgres', connectionTimeoutMillis: 2_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
      // Someone else may have bound the port between our probe and PostgreSQL's bind.
      if (rows[0]?.data_directory !== dataDir) throw new PortTakenError(`port ${server.port} is served by another PostgreSQL`);
      return;
    } catch (err) {
      if (err instanceof PortTakenError) throw err;
      if (!NOT_READY_CODES.has((err as { code?: string }).code)) {
        await sleep(100);
        if (server.exitStatus() !== undefined) continue;
        throw new Error(`embedded PostgreSQL on port ${server.port} refused our connection: ${(err as Error).message}`);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() >= deadline) {
      throw new Error(`embedded PostgreSQL did not accept connections within ${READY_TIMEOUT_MS / 1000} s; its log ends:\n${server.log.tailText()}`);
    }
    await sleep(50);
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * A postmaster that outlived its orchestrator (SIGKILL, OOM) keeps serving the data directory and
 * would make our start fail. The caller holds the owner lock, so nobody owns that server: stop it.
 */
export async function shutDownStalePostmaster(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  // PostgreSQL itself replaces a postmaster.pid whose process is dead.
  if (!isProcessAlive(pid)) return;
  if ((await isPostmasterOf(pid, dataDir)) === false) {
    // The pid was reused by an unrelated process; PostgreSQL would refuse to start while it lives.
    logger.warn({ pid, dataDir }, 'removing a stale postmaster.pid that names an unrelated process');
    await unlink(pidFile).catch(() => undefined);
    return;
  }
  logger.warn({ pid, dataDir }, 'stopping a PostgreSQL left running by an s3-orchestrator that is gone');
  const send = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  await terminate(send, (ms) => waitForExit(pid, ms), logger, `stale PostgreSQL (pid ${pid})`);
}

/** Linux: a postmaster runs the postgres binary with the data directory as its working directory. Elsewhere undefined. */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean | undefined> {
  try {
    const [exe, cwd, real] = await Promise.all([readlink(`/proc/${pid}/exe`), readlink(`/proc/${pid}/cwd`), realpath(dataDir)]);
    return basename(exe) === 'postgres' && cwd === real;
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

async function terminate(
  send: (signal: NodeJS.Signals) => void, waitGone: (ms: number) => Promise<boolean>, logger: Logger, what: string,
): Promise<void> {
  for (const [signal, waitMs] of STOP_SIGNALS) {
    send(signal);
    if (await waitGone(waitMs)) return;
    logger.warn({ signal, waitMs }, `${what} did not exit after ${signal}; escalating`);
  }
  throw new Error(`${what} did not exit even after SIGKILL`);
}
