import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';

const cli = fileURLToPath(new URL('../../dist/ops/cli/main.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface OrchestratorProcess {
  url: string;
  configPath: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (JSON log lines). */
  output(): string;
  writeConfig(yaml: string): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL: no shutdown code runs, like a crash or a power cut of the process. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Runs the built orchestrator (`node dist/ops/cli/main.js serve --config …`) as a real child
 * process, for what only a process can show: signals (SIGHUP reload, SIGTERM shutdown) and
 * crashes (SIGKILL). `npm test` builds dist/ first.
 */
export async function startOrchestratorProcess(yamlFor: (port: number) => string, opts: { port?: number } = {}): Promise<OrchestratorProcess> {
  if (opts.port !== undefined) return launchOrchestratorProcess(yamlFor, opts.port);
  // A free port found here can be taken by another process before the orchestrator binds it (a CI
  // run saw EADDRINUSE): with a port of our own choosing, such a start is tried again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOrchestratorProcess(yamlFor, await freePort());
    } catch (err) {
      if (attempt === 5 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function launchOrchestratorProcess(yamlFor: (port: number) => string, port: number): Promise<OrchestratorProcess> {
  const dir = await mkdtemp(join(tmpdir(), 's3o-proc-'));
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, yamlFor(port));
  let out = '';
  const child = spawn(process.execPath, [cli, 'serve', '--config', configPath], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  // The directory holds only this process's configuration: it goes when the process does (a
  // test that restarts the orchestrator starts a new one and never cleans up the killed one).
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => void rm(dir, { recursive: true, force: true }).finally(() => resolve(code)));
  });
  const url = `http://127.0.0.1:${port}`;
  const proc: OrchestratorProcess = {
    url,
    configPath,
    child,
    output: () => out,
    writeConfig: (yaml) => writeFile(configPath, yaml),
    signal: (sig) => child.kill(sig),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async waitForLog(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in the orchestrator's output:\n${out.slice(-4000)}`);
        if (child.exitCode !== null) throw new Error(`the orchestrator exited (${child.exitCode}) before ${pattern}:\n${out.slice(-4000)}`);
        await sleep(50);
      }
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await proc.waitForLog(/s3-orchestrator ready/, 60_000);
  } catch (err) {
    await proc.cleanup();
    throw err;
  }
  return proc;
}
