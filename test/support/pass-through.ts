import { request, type IncomingMessage, type ServerResponse } from 'node:http';

/** Passes a request on to `upstream` unchanged and pipes its answer back (a test proxy's default path). */
export function passThrough(upstream: URL, req: IncomingMessage, res: ServerResponse): void {
  const forwarded = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forwarded.on('error', () => res.destroy());
  req.pipe(forwarded);
}
