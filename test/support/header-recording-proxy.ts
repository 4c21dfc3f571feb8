import type { IncomingHttpHeaders } from 'node:http';
import { passThrough, serveLocally } from './pass-through.js';

export interface HeaderRecordingProxy {
  endpoint: string;
  /** The method, path and headers of every request forwarded so far, in arrival order. */
  received: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/**
 * An HTTP pass-through in front of a real backend that notes the headers the backend receives.
 * With `swallowDeletes`, it answers every DELETE itself (204) without passing it on: a backend
 * that acknowledges a delete yet still shows the key.
 */
export async function startHeaderRecordingProxy(target: string, opts: { swallowDeletes?: boolean } = {}): Promise<HeaderRecordingProxy> {
  const upstream = new URL(target);
  const received: HeaderRecordingProxy['received'] = [];
  const served = await serveLocally((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (opts.swallowDeletes && req.method === 'DELETE') {
      req.resume();
      res.writeHead(204).end();
      return;
    }
    passThrough(upstream, req, res);
  });
  return { endpoint: served.endpoint, received, close: served.close };
}
