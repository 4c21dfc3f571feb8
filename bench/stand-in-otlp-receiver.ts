import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { forkServer, isMainModule, serveAsChild, type ChildServer } from './child.js';

/**
 * A stand-in for an OpenTelemetry Collector's OTLP/HTTP trace receiver, for `npm run bench:tracing`
 * only: it accepts `POST /v1/traces`, answers 200 at once and counts requests, bytes and spans
 * (occurrences of `"spanId"` in the JSON body, without decoding it, so the stand-in stays cheap).
 * `GET /stats` returns the counts. It runs in its own process, like the other bench servers.
 */

export interface ReceiverStats {
  requests: number;
  bytes: number;
  spans: number;
}

const SPAN_ID = Buffer.from('"spanId"');

function count(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf(SPAN_ID); at !== -1; at = body.indexOf(SPAN_ID, at + SPAN_ID.length)) n++;
  return n;
}

async function listen(): Promise<{ port: number; close(): Promise<void> }> {
  const stats: ReceiverStats = { requests: 0, bytes: 0, spans: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      stats.requests++;
      stats.bytes += body.length;
      stats.spans += count(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

export function startStandInOtlpReceiver(): Promise<ChildServer> {
  return forkServer('stand-in OTLP receiver', fileURLToPath(import.meta.url));
}

export async function receiverStats(origin: string): Promise<ReceiverStats> {
  const res = await fetch(`${origin}/stats`);
  return (await res.json()) as ReceiverStats;
}

if (isMainModule(import.meta.url)) await serveAsChild(listen);
