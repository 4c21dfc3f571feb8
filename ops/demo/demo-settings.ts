/**
 * The demo's settings, read from the environment in one place: the demo itself, the CLI's
 * defaults without --config, and the messages that say which variable to change.
 */
export const demoAdminToken = 'demo-admin-token';

/** Loopback by default: the demo's credentials are public. */
export const defaultDemoListen = '127.0.0.1:9000';
export const defaultDemoBackendPort = 9101;

/** The S3 endpoint's listen address (`host:port`). */
export function demoListenAddr(env: NodeJS.ProcessEnv = process.env): string {
  return env.S3O_LISTEN || defaultDemoListen;
}

/** The first of the demo backends' ports (three, consecutive). */
export function demoBackendBasePort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.S3O_DEMO_BACKEND_PORT;
  if (!raw) return defaultDemoBackendPort;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65533) {
    throw new Error(`S3O_DEMO_BACKEND_PORT=${raw} is not a port from 1 to 65533 (the demo's three backends take it and the next two)`);
  }
  return port;
}

/** The demo's data: embedded PostgreSQL and the backends' files. */
export function demoDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.S3O_DATA_DIR || './data';
}
