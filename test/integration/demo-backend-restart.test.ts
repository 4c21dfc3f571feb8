import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../ops/demo/demo.js';
import type { S3rverExit } from '../../ops/demo/s3rver-process.js';
import { s3rverStore, storeClient } from '../support/backend-stores.js';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port p with p, p+1 and p+2 free: the demo's backends take three consecutive ports. */
async function threeFreePorts(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (base + 2 < 65536 && await canListen(base) && await canListen(base + 1) && await canListen(base + 2)) return base;
  }
}

let dataDir: string;
let demo: Demo;
const exits: { backend: string; exit: S3rverExit }[] = [];
const exitWaiters: (() => void)[] = [];

function nextExit(): Promise<void> {
  return new Promise((resolve) => exitWaiters.push(resolve));
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 's3o-demo-restart-'));
  const previousPort = process.env.S3O_DEMO_BACKEND_PORT;
  process.env.S3O_DEMO_BACKEND_PORT = String(await threeFreePorts());
  try {
    demo = await startDemo(dataDir, {
      onBackendExit: (backend, exit) => {
        exits.push({ backend, exit });
        exitWaiters.splice(0).forEach((wake) => wake());
      },
    });
  } finally {
    if (previousPort === undefined) delete process.env.S3O_DEMO_BACKEND_PORT;
    else process.env.S3O_DEMO_BACKEND_PORT = previousPort;
  }
});

afterAll(async () => {
  await demo?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('demo backends', () => {
  it('given a demo backend process that dies, then it is started again on its port and directory, every time, with its objects', async () => {
    const backend = demo.backends[0]!;
    const client = storeClient(s3rverStore(backend));
    await client.send(new PutObjectCommand({ Bucket: backend.bucket, Key: 'kept', Body: 'before the crash' }));

    for (const round of [1, 2]) {
      const crashedPid = backend.pid!;
      const exited = nextExit();
      process.kill(crashedPid, 'SIGKILL');
      await exited;

      expect(exits).toHaveLength(round);
      expect(exits[round - 1]).toMatchObject({ backend: 'local1', exit: { port: backend.port, signal: 'SIGKILL', restarted: true } });
      expect(backend.pid).not.toBe(crashedPid);
      const got = await client.send(new GetObjectCommand({ Bucket: backend.bucket, Key: 'kept' }));
      expect(await got.Body!.transformToString()).toBe('before the crash');
    }
    client.destroy();
  });

  it('given the demo stopping, then its backends stay stopped (a stop is no crash)', async () => {
    const before = exits.length;
    await demo.stop();
    expect(exits).toHaveLength(before);
    expect(await canListen(demo.backends[1]!.port)).toBe(true);
  });
});
