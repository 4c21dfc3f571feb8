import { request, type IncomingHttpHeaders } from 'node:http';
import { passThrough, serveLocally } from './pass-through.js';

export interface LateStoringProxy {
  endpoint: string;
  /** From now on, PUTs whose path `matches` are answered 500 and kept instead of passed on. */
  holdPuts(matches: (path: string) => boolean): void;
  /** How many PUTs were answered with a failure and kept so far. */
  held(): number;
  /** Passes the kept PUTs on to the backend, which stores them (resolves once it has), and holds no more. */
  storeHeld(): Promise<void>;
  close(): Promise<void>;
}

interface KeptPut {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * An HTTP pass-through in front of a real backend that a test turns into one that answers a PUT
 * with a failure yet stores it later: how a backend looks that finishes a write the gateway gave
 * up on (a timed-out request, a reset connection) after the gateway acted on the failure.
 */
export async function startLateStoringProxy(target: string): Promise<LateStoringProxy> {
  const upstream = new URL(target);
  let matches: ((path: string) => boolean) | undefined;
  const kept: KeptPut[] = [];
  const forward = (method: string, url: string, headers: IncomingHttpHeaders, body: Buffer | undefined) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: upstream.hostname, port: upstream.port, method, path: url, headers }, (answer) => {
        answer.resume().on('end', () => resolve(answer.statusCode ?? 502));
      });
      req.on('error', reject);
      req.end(body);
    });
  const served = await serveLocally((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'PUT' && matches?.(new URL(url, 'http://x').pathname)) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        kept.push({ url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(500, { 'content-type': 'application/xml' })
          .end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>answered as failed, stored later</Message></Error>');
      });
      return;
    }
    passThrough(upstream, req, res);
  });
  return {
    endpoint: served.endpoint,
    holdPuts(m) {
      matches = m;
    },
    held: () => kept.length,
    async storeHeld() {
      matches = undefined;
      for (const put of kept.splice(0)) {
        const status = await forward('PUT', put.url, put.headers, put.body);
        if (status !== 200) throw new Error(`the backend refused the late PUT of ${put.url}: HTTP ${status}`);
      }
    },
    close: served.close,
  };
}
