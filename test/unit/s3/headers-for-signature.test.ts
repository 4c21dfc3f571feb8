import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHeaderValue } from '../../../gateway/auth/canonical.js';
import { headersForSignature } from '../../../gateway/s3/s3-request.js';

/** What the server saw of each request: the view chosen, compared with what headersDistinct says. */
interface Seen {
  usedPlainHeaders: boolean;
  canonical: Record<string, string>;
  expected: Record<string, string>;
}

let seen: Seen[] = [];
const server = http.createServer((req, res) => {
  if (req.url === '/hooked') delete req.headers['content-type'];
  const view = headersForSignature(req);
  const names = Object.keys(req.headersDistinct);
  seen.push({
    usedPlainHeaders: view === req.headers,
    canonical: Object.fromEntries(names.map((n) => [n, canonicalHeaderValue(view[n])])),
    expected: Object.fromEntries(names.map((n) => [n, canonicalHeaderValue(req.headersDistinct[n])])),
  });
  res.end();
});
let port = 0;

/** Sends raw header lines (and Host, which raw lines must carry), so a header can be repeated as a client might. */
async function send(path: string, lines: string[]): Promise<Seen> {
  seen = [];
  const headers = [`host: 127.0.0.1:${port}`, ...lines].flatMap((l) => l.split(': ', 2));
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false });
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  return seen[0] as Seen;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('headersForSignature', () => {
  it('is the plain header map when every header line has a name of its own', async () => {
    const s = await send('/plain', ['x-amz-date: 20260101T000000Z', 'content-type: text/plain', 'x-amz-meta-a: 1']);
    expect(s.usedPlainHeaders).toBe(true);
    expect(s.canonical).toEqual(s.expected);
  });

  it('keeps the values of a repeated header apart: one Node joins with ", " and one it keeps only once', async () => {
    const s = await send('/repeated', ['x-amz-meta-a: 1', 'X-Amz-Meta-A: 2', 'content-type: a/b', 'content-type: c/d']);
    expect(s.usedPlainHeaders).toBe(false);
    expect(s.canonical['x-amz-meta-a']).toBe('1,2');
    expect(s.canonical['content-type']).toBe('a/b,c/d');
    expect(s.canonical).toEqual(s.expected);
  });

  it('still sees a header a hook removed from the plain map (the write routes hide Content-Type from fastify)', async () => {
    const s = await send('/hooked', ['content-type: text/plain', 'x-amz-meta-a: 1']);
    expect(s.usedPlainHeaders).toBe(false);
    expect(s.canonical['content-type']).toBe('text/plain');
  });
});
