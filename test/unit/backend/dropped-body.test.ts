import { EventEmitter, once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendClient, BackendUnavailableError } from '../../../infra/backend/index.js';

/**
 * A backend read whose body its caller dropped (its own step failed first, or the gateway was
 * shutting down) fails when the backend's socket goes away. That failure must never reach the
 * process as an uncaught exception (CI run of 59df481: a GetObject reset during a restart).
 */
describe('a backend body nobody listens to', () => {
  const sockets: Socket[] = [];
  /** Test-side events: 'sent' when the server has written its answer, 'uncaught' when the process saw an error. */
  const signals = new EventEmitter();
  const uncaught: unknown[] = [];
  const record = (err: unknown): void => {
    uncaught.push(err);
    signals.emit('uncaught');
  };
  // 'close' comes after the 'error' event; an uncaught 'error' stops the stream before its 'close'.
  const settled = (body: Readable): Promise<void> => new Promise((resolve) => {
    body.once('close', () => resolve());
    signals.once('uncaught', () => resolve());
  });
  let server: Server;
  let client: BackendClient;

  beforeAll(async () => {
    // Answers a head declaring 1 MiB, sends three bytes of it and keeps the socket.
    server = createServer((socket) => {
      sockets.push(socket);
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\nabc', () => signals.emit('sent')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new BackendClient({
      name: 'b1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'eu-west-3', bucket: 'bucket',
      accessKeyId: 'AKID', secretAccessKey: 'secret', forcePathStyle: true, timeoutMs: 10_000,
    });
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    uncaught.length = 0;
  });
  afterAll(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const cutConnections = (): void => {
    for (const socket of sockets.splice(0)) socket.destroy();
  };

  it('fails quietly when its socket is reset, and a later reader still gets the failure', async () => {
    const { body } = await client.getObject('k');
    cutConnections();
    await settled(body);
    expect(uncaught).toEqual([]);
    expect(body.errored).toBeInstanceOf(BackendUnavailableError);
    await expect(readAll(body)).rejects.toMatchObject({ backend: 'b1', op: 'GetObject', reason: 'reset' });
  });

  it('still gives the failure to a caller that listens', async () => {
    const { body } = await client.getObject('k');
    const failed = once(body, 'error');
    cutConnections();
    const [err] = await failed;
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(uncaught).toEqual([]);
  });

  it('fails quietly when a whole read that failed after its head is drained without a listener', async () => {
    const pending = client.getObject('k', { wholeUpTo: 2 * 1048576 });
    await once(signals, 'sent');
    cutConnections();
    const { body } = await pending;
    body.resume();
    await settled(body);
    expect(uncaught).toEqual([]);
    expect(body.errored).toBeInstanceOf(BackendUnavailableError);
  });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
