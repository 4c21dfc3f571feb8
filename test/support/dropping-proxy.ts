import net from 'node:net';

export interface DroppingProxy {
  endpoint: string;
  /** Requests that carried the marker (each one's connection was dropped). */
  dropped(): number;
  close(): Promise<void>;
}

/**
 * A fault-injecting stand-in placed in front of a real backend: a TCP pass-through that resets
 * the connection, without an answer, as soon as a request carries `marker` (in its request line
 * or headers) — how a backend that crashes on a request looks to the gateway.
 */
export async function startDroppingProxy(target: string, marker: string): Promise<DroppingProxy> {
  const upstreamUrl = new URL(target);
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes(marker)) {
        dropped++;
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dropped: () => dropped,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
