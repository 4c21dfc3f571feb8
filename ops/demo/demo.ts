import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseConfigText } from '../config/loader.js';
import type { Config } from '../../domain/config/config.js';
import { liveLockOwner } from '../../infra/db/embedded-postgres-lock.js';
import { S3rverStartError, startS3rver, type S3rverExit, type S3rverInstance } from './s3rver-process.js';
import { defaultPostgresDataDir } from './demo-data-dir.js';
import { demoAdminToken, demoBackendBasePort, demoDataDir, demoListenAddr } from './demo-settings.js';

export const demoCredentials = [
  { bucket: 'demo', accessKeyId: 'demo-access-key', secretAccessKey: 'demo-secret-key' },
  { bucket: 'photos', accessKeyId: 'photos-access-key', secretAccessKey: 'photos-secret-key' },
] as const;

const demoBackends = [
  { name: 'local1', quota: '64MiB' },
  { name: 'local2', quota: '128MiB' },
  { name: 'local3', quota: '256MiB' },
] as const;

/** A demo backend that dies (a crash, an outside kill) is started again on its port; say so on stderr. */
function reportBackendExit(name: string, hook: DemoHooks['onBackendExit']): (exit: S3rverExit) => void {
  return (exit) => {
    hook?.(name, exit);
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    process.stderr.write(exit.restarted
      ? `demo backend ${name} exited (${how}); restarted on port ${exit.port}\n`
      : `demo backend ${name} exited (${how}) and could not be restarted on port ${exit.port}: ${exit.error?.message ?? 'stopped'}\n`);
  };
}

export interface DemoHooks {
  /** Told after a demo backend exited on its own and was restarted (or could not be). */
  onBackendExit?: (backend: string, exit: S3rverExit) => void;
}

export interface Demo {
  config: Config;
  backends: S3rverInstance[];
  banner(url: string): string;
  stop(): Promise<void>;
}

/**
 * The zero-setup demo: three local S3 backends (s3rver, data under `<dataDir>/backends`) with
 * small quotas, embedded PostgreSQL under `<dataDir>/postgres` (as root, possibly elsewhere: see
 * defaultPostgresDataDir), two buckets with fixed demo credentials. Ports (demo-settings.ts): S3
 * on S3O_LISTEN (default 127.0.0.1:9000), backends from S3O_DEMO_BACKEND_PORT (default 9101)
 * upwards, so restarts find the same backends. A demo already running on the same data, or a
 * port in use, fails before anything starts, saying which variable to change. A backend
 * process that exits without being stopped is started again on its port and directory.
 */
export async function startDemo(dataDir = demoDataDir(), hooks: DemoHooks = {}): Promise<Demo> {
  const root = resolve(dataDir);
  const basePort = demoBackendBasePort();
  const postgresDir = await defaultPostgresDataDir(root);
  const owner = await liveLockOwner(postgresDir);
  if (owner !== undefined) {
    throw new Error(`the demo is already running on ${root} (pid ${owner} holds its database ${postgresDir}); `
      + 'stop it first, or run another demo beside it with its own S3O_DATA_DIR, S3O_LISTEN and S3O_DEMO_BACKEND_PORT');
  }
  const backends: S3rverInstance[] = [];
  try {
    for (const [i, b] of demoBackends.entries()) {
      const directory = join(root, 'backends', b.name);
      await mkdir(directory, { recursive: true });
      backends.push(await startS3rver({ bucket: 'data', directory, port: basePort + i, restartOnExit: true, onExit: reportBackendExit(b.name, hooks.onBackendExit) }));
    }
  } catch (err) {
    await Promise.all(backends.map((b) => b.stop()));
    if (err instanceof S3rverStartError && err.code === 'EADDRINUSE') {
      throw new Error(`port ${err.port} is in use: the demo's backends take ports ${basePort}-${basePort + 2}; `
        + `set S3O_DEMO_BACKEND_PORT to another first port (e.g. S3O_DEMO_BACKEND_PORT=${basePort + 100})`);
    }
    throw new Error(`could not start the demo backends on ports ${basePort}-${basePort + 2}: ${(err as Error).message}`);
  }
  const yaml = [
    'server:',
    `  listen_addr: "${demoListenAddr()}"`,
    '  log_level: info',
    'database:',
    '  driver: embedded',
    `  path: "${postgresDir}"`,
    'ui:',
    `  admin_token: ${demoAdminToken}`,
    'routing_strategy: pack',
    // The object cache is on so the README's cache commands work against the demo.
    'cache:',
    '  enabled: true',
    '  max_size: 64MiB',
    'buckets:',
    ...demoCredentials.flatMap((c) => [
      `  - name: ${c.bucket}`,
      '    credentials:',
      `      - access_key_id: ${c.accessKeyId}`,
      `        secret_access_key: ${c.secretAccessKey}`,
    ]),
    'backends:',
    ...demoBackends.flatMap((b, i) => [
      `  - name: ${b.name}`,
      `    endpoint: "${backends[i]?.endpoint}"`,
      '    bucket: data',
      '    access_key_id: S3RVER',
      '    secret_access_key: S3RVER',
      '    force_path_style: true',
      `    quota_bytes: ${b.quota}`,
    ]),
  ].join('\n');
  const parsed = parseConfigText(yaml, {});
  if (!parsed.ok) throw new Error(`demo configuration is invalid:\n${parsed.errors.join('\n')}`);
  return {
    config: parsed.config,
    backends,
    banner(url: string) {
      const c = demoCredentials[0];
      return [
        '',
        's3-orchestrator is running with the built-in demo configuration.',
        `  S3 endpoint   ${url}`,
        ...demoCredentials.map((d) => `  bucket ${d.bucket.padEnd(7)}access key ${d.accessKeyId}   secret key ${d.secretAccessKey}`),
        `  backends      ${demoBackends.map((b, i) => `${b.name} (${b.quota}, ${backends[i]?.endpoint})`).join(', ')}`,
        `  admin token   ${demoAdminToken}   (s3o admin status)`,
        `  data          ${root}`,
        ...(postgresDir === join(root, 'postgres') ? [] : [`  database      ${postgresDir}   (out of the postgres account's reach under ${root})`]),
        '',
        '  Try:',
        `    export AWS_ACCESS_KEY_ID=${c.accessKeyId} AWS_SECRET_ACCESS_KEY=${c.secretAccessKey} AWS_DEFAULT_REGION=us-east-1`,
        `    aws --endpoint-url ${url} s3 cp README.md s3://${c.bucket}/`,
        `    aws --endpoint-url ${url} s3 ls s3://${c.bucket}/`,
        '',
        '  Stop with Ctrl-C.',
        '',
      ].join('\n');
    },
    async stop() {
      await Promise.all(backends.map((b) => b.stop()));
    },
  };
}
