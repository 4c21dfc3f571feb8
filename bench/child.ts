import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Benchmark servers (upstream, pass-through proxy) run as forked child processes: each has its
 * own event loop, heap and GC, so none of them steals time from the load generator's loop or
 * from each other, and each one's RSS can be read from /proc on its own.
 */

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly origin: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** The end of what it printed (stderr; stdout too for the gateway), for error messages. */
  outputTail(): string;
}

interface ListeningMessage {
  type: 'listening';
  port: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** No benchmark child outlives the benchmark, even when it crashes. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const exited = (): void => {
      clearTimeout(timer);
      done(true);
    };
    // A wait that times out takes its listener back: the gateway's readiness loop waits 200 ms at a time.
    const timer = setTimeout(() => {
      child.off('exit', exited);
      done(false);
    }, timeoutMs);
    child.once('exit', exited);
  });
}

export async function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, timeoutMs)) return;
  child.kill('SIGKILL');
  await waitForExit(child, timeoutMs);
}

export function keepTail(stream: NodeJS.ReadableStream | null, maxChars = 8192): () => string {
  let tail = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-maxChars);
  });
  return () => tail;
}

/**
 * glibc returns the free top of its heap to the kernel once it exceeds a threshold that it raises
 * only after freeing a large mmapped chunk, which some processes happen to do and some do not.
 * Where it stays low, every chunk a large transfer frees is given back and the next one is faulted
 * in again: the pass-through proxy's 64 MiB rows ran at 1.0-1.7 s of CPU per GB in some runs and
 * 2.5-5.3 (page faults in node's HTTP parser copying each body chunk) in others, depending on what
 * it had done before. One fixed threshold for every server the bench starts takes that history
 * out of the figures. GLIBC_TUNABLES set by the caller wins.
 */
export const SERVER_MALLOC_TUNABLES = 'glibc.malloc.trim_threshold=1073741824';

/** The environment of every benchmark server process. */
export function serverEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ?? SERVER_MALLOC_TUNABLES };
}

/** Forks `modulePath` and waits for it to report the port it listens on; `execArgv`: node options for it alone. */
export async function forkServer(
  name: string, modulePath: string, args: string[] = [], timeoutMs = 15_000, execArgv: string[] = [],
): Promise<ChildServer> {
  const child = fork(modulePath, args, { execArgv, env: serverEnv(), stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  trackChild(child);
  const stderrTail = keepTail(child.stderr);
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms: ${stderrTail()}`)), timeoutMs);
    child.on('message', (m: Partial<ListeningMessage>) => {
      if (m.type === 'listening' && typeof m.port === 'number') {
        clearTimeout(timer);
        done(m.port);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited during start (${signal ?? code}): ${stderrTail()}`));
    });
  }).catch(async (err: unknown) => {
    await stopChild(child);
    throw err;
  });
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid,
    origin: `http://127.0.0.1:${port}`,
    stop: () => (stopping ??= stopChild(child)),
    outputTail: stderrTail,
  };
}

export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(resolve(entry)).href === moduleUrl;
}

/** The child side: start, report the port to the parent, and exit on SIGTERM or when the parent goes away. */
export async function serveAsChild(start: () => Promise<{ port: number; close(): Promise<void> }>): Promise<void> {
  const server = await start();
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('disconnect', shutdown);
  process.send?.({ type: 'listening', port: server.port } satisfies ListeningMessage);
}

/**
 * The servers one benchmark run starts, stopped in reverse order by stopAll (also on Ctrl-C, so
 * an interrupted run leaves no process behind).
 */
export function serverSet(): { servers: ChildServer[]; stopAll(): Promise<void> } {
  const servers: ChildServer[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of servers.splice(0).reverse()) {
      await s.stop().catch((err: unknown) => console.error(`stopping ${s.name}: ${err instanceof Error ? err.message : String(err)}`));
    }
  };
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping the benchmark processes');
    void stopAll().finally(() => process.exit(130));
  });
  return { servers, stopAll };
}
