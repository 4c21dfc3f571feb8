import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../../infra/db/embedded-postgres-lock.js';
import { demoBackendBasePort, demoListenAddr } from '../../ops/demo/demo-settings.js';

const cli = fileURLToPath(new URL('../../dist/ops/cli/main.js', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function serve(env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'serve'], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out, err: errOut });
    });
  });
}

/** A port something else holds, on the address the demo binds. */
async function occupiedPort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const portOf = (s: Server): number => {
  const a = s.address();
  return typeof a === 'object' && a ? a.port : 0;
};

/**
 * `npm start` (the demo) when it cannot start: it says which variable to change, in one line,
 * before starting anything (no child's stack trace, no database started, no backend left).
 */
describe('the demo at start-up', () => {
  let tmp: string;
  let taken: Server;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 's3o-demo-start-'));
    // As root, a 0700 directory would send the database under /var/lib/s3o (demo-data-dir.ts).
    await chmod(tmp, 0o755);
    taken = await occupiedPort();
  });
  afterAll(async () => {
    await new Promise((r) => taken?.close(r));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 unless S3O_LISTEN says otherwise', () => {
    expect(demoListenAddr({})).toBe('127.0.0.1:9000');
    expect(demoListenAddr({ S3O_LISTEN: '0.0.0.0:9000' })).toBe('0.0.0.0:9000');
    expect(demoBackendBasePort({})).toBe(9101);
    expect(() => demoBackendBasePort({ S3O_DEMO_BACKEND_PORT: 'x' })).toThrow(/S3O_DEMO_BACKEND_PORT=x/);
  });

  it('a backend port in use: names the port and S3O_DEMO_BACKEND_PORT, no stack trace', async () => {
    const dataDir = join(tmp, 'backend-clash');
    const r = await serve({ S3O_DATA_DIR: dataDir, S3O_DEMO_BACKEND_PORT: String(portOf(taken)), S3O_LISTEN: '127.0.0.1:0' });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`port ${portOf(taken)} is in use`);
    expect(r.err).toContain('S3O_DEMO_BACKEND_PORT');
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(await readdir(dataDir)).toEqual(['backends']);
  });

  it('a second start on the same data: the demo is already running, no backend started', async () => {
    const dataDir = join(tmp, 'second-start');
    await mkdir(dataDir);
    // The lock of the demo's database as a running orchestrator holds it: this (live) process.
    await writeFile(join(dataDir, 'postgres.s3o.lock'), `${JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), nonce: 'test' })}\n`);
    // Its backend ports are taken too, as they would be: the lock is what must be reported.
    const r = await serve({ S3O_DATA_DIR: dataDir, S3O_DEMO_BACKEND_PORT: String(portOf(taken)), S3O_LISTEN: '127.0.0.1:0' });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`the demo is already running on ${dataDir} (pid ${process.pid}`);
    expect(r.err).toMatch(/S3O_DATA_DIR, S3O_LISTEN and S3O_DEMO_BACKEND_PORT/);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(await readdir(dataDir)).toEqual(['postgres.s3o.lock']);
  });
});
