import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { rgwUnavailableReason, startRgwCluster, type RgwCluster } from './ceph-rgw.js';

/** What a test file learns about the shared RGW cluster (see rgw.ts). */
export type RgwStatus =
  | { available: true; endpoint: string; accessKeyId: string; secretAccessKey: string }
  | { available: false; reason: string };

/**
 * One Ceph RGW cluster per test run, started on first demand: test files ask this process
 * over HTTP (`inject('rgwBroker')`), so a run without RGW-backed tests never starts Ceph, and
 * a run with many starts it once. `S3O_TEST_RGW=off` turns it off (the tests skip, saying so).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The cluster's readiness probe uses the SDK in this process too (the config sets it for workers).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let cluster: Promise<RgwCluster> | undefined;
  let status: Promise<RgwStatus> | undefined;
  const resolveStatus = async (): Promise<RgwStatus> => {
    if (process.env.S3O_TEST_RGW === 'off') return { available: false, reason: 'S3O_TEST_RGW=off' };
    const reason = rgwUnavailableReason();
    if (reason) return { available: false, reason };
    const started = Date.now();
    cluster = startRgwCluster();
    const c = await cluster;
    console.log(`Ceph RGW for the [rgw] backend tests: ready in ${Date.now() - started} ms at ${c.endpoint}`);
    return { available: true, endpoint: c.endpoint, accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  };
  const broker: Server = createServer((_req, res) => {
    status ??= resolveStatus();
    status.then(
      (s) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s)),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end((e as Error).message),
    );
  });
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  project.provide('rgwBroker', `http://127.0.0.1:${(broker.address() as AddressInfo).port}/`);
  return async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    const running = await cluster?.catch(() => undefined);
    await running?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    rgwBroker: string;
  }
}
