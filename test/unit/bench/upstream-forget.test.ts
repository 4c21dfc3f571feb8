import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamServer, forgetStoredObjects } from '../../../bench/upstream.js';

/** Workloads must not share the upstream's memory: between them the bench empties it. */
describe('bench upstream: forgetting stored objects', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createUpstreamServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((done) => {
    server.close(() => done());
    server.closeAllConnections();
  }));

  it('drops every object, and a GET or PUT named like the control path stays an object request', async () => {
    expect((await fetch(`${origin}/bench/a`, { method: 'PUT', body: 'hello' })).status).toBe(200);
    expect((await fetch(`${origin}/_bench/forget`, { method: 'PUT', body: 'x' })).status).toBe(200);
    expect(await (await fetch(`${origin}/_bench/forget`)).text()).toBe('x');
    expect(await (await fetch(`${origin}/bench/a`)).text()).toBe('hello');
    await forgetStoredObjects(origin);
    expect((await fetch(`${origin}/bench/a`)).status).toBe(404);
    expect((await fetch(`${origin}/_bench/forget`)).status).toBe(404);
  });
});
