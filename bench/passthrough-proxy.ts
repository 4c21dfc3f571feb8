import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Pool } from 'undici';
import { forkServer, isMainModule, serveAsChild, type ChildServer } from './child.js';

/**
 * The reference point for the gateway: the least a Node S3 proxy can do. fastify 5 with a
 * catch-all content-type parser that leaves the body a stream, `undici.Pool.request` to the
 * upstream, hop-by-hop headers stripped both ways. No auth, no metadata, no hashing.
 */

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);
// undici refuses `expect` (UND_ERR_NOT_SUPPORTED); Node's server has already answered 100 Continue.
// `host` is the proxy's own; undici sets the upstream's.
const REQUEST_ONLY = new Set(['expect', 'host']);

function forwardable(headers: IncomingHttpHeaders, extra?: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export async function createPassthroughProxy(upstream: string): Promise<{ port: number; close(): Promise<void> }> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  const app = Fastify({ logger: false, maxParamLength: 4096, keepAliveTimeout: 65_000, requestTimeout: 0 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  app.all('/*', async (request, reply) => {
    const up = await pool.request({
      method: request.method as 'GET',
      path: request.url,
      headers: forwardable(request.headers, REQUEST_ONLY),
      body: request.body as Readable | undefined,
    });
    reply.code(up.statusCode);
    reply.headers(forwardable(up.headers));
    return reply.send(up.body);
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: Number(new URL(address).port),
    close: async () => {
      await app.close();
      await pool.close();
    },
  };
}

/**
 * Starts the proxy in its own process, forwarding to `upstream` (an origin).
 * S3O_BENCH_PROXY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof-proxy") profiles it alone,
 * to set its profile beside the gateway's.
 */
export function startPassthroughProxy(upstream: string): Promise<ChildServer> {
  const nodeArgs = (process.env.S3O_BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  return forkServer('proxy', fileURLToPath(import.meta.url), ['--upstream', upstream], undefined, nodeArgs);
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
  if (values.upstream === undefined) throw new Error('--upstream <origin> is required');
  const upstream = values.upstream;
  await serveAsChild(() => createPassthroughProxy(upstream));
}
