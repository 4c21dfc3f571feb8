import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LargeGetClient } from '../../../bench/large-get.js';
import { patternSlices } from '../../../bench/pattern.js';
import type { SignedRequest } from '../../../bench/signing.js';

const SIZE = 3 * (1 << 20) + 5;

/** The pattern's first `size` bytes, with the byte at `flip` (if any) changed. */
function body(size: number, flip?: number): Buffer {
  const out = Buffer.concat([...patternSlices(0, size)]);
  if (flip !== undefined) out[flip] = (out[flip] as number) ^ 0xff;
  return out;
}

const request = (key: string): SignedRequest => ({
  method: 'GET', path: `/bench/${key}`, headers: { host: 'bench.test', authorization: `AWS4-HMAC-SHA256 for ${key}` },
});

describe('bench: the large-GET client', () => {
  let server: Server;
  let origin: string;
  const seen: { url: string | undefined; method: string | undefined; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, method: req.method, headers: req.headers });
      const key = req.url?.split('/').pop();
      if (key === 'missing') {
        const xml = '<Error><Code>NoSuchKey</Code></Error>';
        res.writeHead(404, { 'content-type': 'application/xml', 'content-length': xml.length }).end(xml);
        return;
      }
      if (key === 'short') {
        res.writeHead(200, { 'content-length': SIZE });
        res.write(body(SIZE - 10), () => res.socket?.destroy());
        return;
      }
      const sizes: Record<string, number> = { longer: SIZE + 1 };
      const bytes = body(sizes[key ?? ''] ?? SIZE, key === 'one-wrong' ? 2 * (1 << 20) + 1 : undefined);
      res.writeHead(200, { 'content-length': bytes.length });
      // In pieces, so the body reaches the client over many reads.
      for (let at = 0; at < bytes.length; at += 100_000) res.write(bytes.subarray(at, at + 100_000));
      res.end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((done) => {
    server.close(() => done());
    server.closeAllConnections();
  }));

  it('accepts the exact pattern body twice over one connection, sending the signed headers as they are', async () => {
    const client = new LargeGetClient(origin);
    seen.length = 0;
    expect(await client.get(request('good'), SIZE)).toBeUndefined();
    expect(await client.get(request('good'), SIZE)).toBeUndefined();
    client.close();
    expect(seen.map((s) => [s.method, s.url, s.headers.host, s.headers.authorization])).toEqual([
      ['GET', '/bench/good', 'bench.test', 'AWS4-HMAC-SHA256 for good'], ['GET', '/bench/good', 'bench.test', 'AWS4-HMAC-SHA256 for good'],
    ]);
  });

  it('rejects a body with one wrong byte, a short one and a wrong Content-Length, and goes on with a new connection', async () => {
    const client = new LargeGetClient(origin);
    expect(await client.get(request('one-wrong'), SIZE)).toBe(`wrong bytes from offset ${2 * (1 << 20) + 1}`);
    expect(await client.get(request('short'), SIZE)).toBe(`short body: ${SIZE - 10} of ${SIZE} bytes`);
    expect(await client.get(request('longer'), SIZE)).toBe(`Content-Length ${SIZE + 1}, expected ${SIZE}`);
    expect(await client.get(request('missing'), SIZE)).toBe('HTTP 404 <Error><Code>NoSuchKey</Code></Error>');
    expect(await client.get(request('good'), SIZE)).toBeUndefined();
    client.close();
  });
});
