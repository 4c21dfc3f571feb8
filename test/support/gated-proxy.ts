import net from 'node:net';

export interface GatedProxy {
  endpoint: string;
  /** Holds every byte clients send from now on (connections stay open, nothing reaches the backend). */
  close(): void;
  /** Lets the held bytes and everything after them through. */
  open(): void;
  stop(): Promise<void>;
}

/**
 * A TCP pass-through in front of a real backend whose gate a test shuts and opens: while shut,
 * requests wait (as on a stalled backend) instead of failing, so a test can look at a state that
 * would otherwise pass too quickly to see, then let it go on.
 */
export async function startGatedProxy(target: string): Promise<GatedProxy> {
  const upstreamUrl = new URL(target);
  let gateOpen = true;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    sockets.add(client).add(upstream);
    // Bytes of one connection keep their order: once one chunk waits, the ones after it wait too.
    const queue: Buffer[] = [];
    const flush = () => {
      while (queue.length > 0) upstream.write(queue.shift() as Buffer);
    };
    client.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      if (gateOpen) flush();
      else held.push(flush);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    close: () => {
      gateOpen = false;
    },
    open: () => {
      gateOpen = true;
      for (const flush of held.splice(0)) flush();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
