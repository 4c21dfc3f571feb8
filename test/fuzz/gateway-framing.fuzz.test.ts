import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendStore } from '../support/backend-stores.js';
import { startStack, type TestStack } from '../support/orchestrator.js';
import { backendObjects, parseErrorXml, rawRequest } from '../support/s3-e2e.js';
import { fuzzRuns, fuzzTimeout } from './fuzz-runs.js';

/**
 * The gateway's HTTP framing, driven over raw TCP with malformed requests: broken request
 * lines, conflicting or absurd Content-Length and Transfer-Encoding, bad chunking, huge or
 * folded headers, bare line feeds, NULs. Every answer is an HTTP response with a status below
 * 500 (or none: the connection closed) and an S3 error document when it is an error; every
 * connection ends; nothing is ever stored; the gateway keeps answering.
 */

const CRLF = '\r\n';

const requestLine = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'G ET', '', 'PUT\u0000'),
  target: fc.constantFrom('/alpha/k', '/alpha', '/', '*', 'http://127.0.0.1/alpha/k', '/alpha/%zz', '/alpha/\u00e9', `/alpha/${'a'.repeat(9000)}`,
    '/alpha/k?uploads', '/alpha/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00', '/health', '/admin/api/status', '/alpha/a b', ''),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', ''),
});

const headerLine = fc.oneof(
  fc.constantFrom(
    'Host: 127.0.0.1', 'Content-Length: 0', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 99999999999999999999', 'Content-Length: 1e3',
    'Content-Length: 3, 5', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: identity', 'Expect: 100-continue',
    'Expect: something-else', 'Authorization: AWS4-HMAC-SHA256 Credential=ALPHAKEY/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
    'Authorization: AWS ALPHAKEY:abc', 'X-Proxy-Token: nope', 'x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'Content-Encoding: aws-chunked',
    'x-amz-decoded-content-length: 10', ' folded-continuation', 'NoColonHere', ': empty-name', 'X-Nul: a\u0000b', `X-Big: ${'x'.repeat(20_000)}`,
    'Connection: close', 'Connection: keep-alive', 'Content-Type: application/xml',
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.string({ maxLength: 20 })).map(([n, v]) => `${n}: ${v}`),
);

const bodyPart = fc.oneof(
  fc.constantFrom('', 'hello', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\nbad\r\n', '0\r\n\r\n', 'ffffffff\r\n', '5\r\nhel', '\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n'),
  fc.string({ maxLength: 40 }),
);

const rawRequestText = fc.record({
  line: requestLine,
  headers: fc.array(headerLine, { maxLength: 6 }),
  body: bodyPart,
  lineEnd: fc.constantFrom(CRLF, CRLF, CRLF, '\n'),
}).map(({ line, headers, body, lineEnd }) =>
  `${line.method} ${line.target} ${line.version}${lineEnd}${headers.join(lineEnd)}${headers.length ? lineEnd : ''}${lineEnd}${body}`);

/** Writes `text` as latin-1 bytes, half-closes, and collects everything until the server closes. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(Buffer.from(text, 'latin1'));
  });
}

describe('fuzz: the gateway\'s HTTP framing', () => {
  let stack: TestStack;
  let port: number;
  beforeAll(async () => {
    stack = await startStack({ backends: [{ quota: 0 }] });
    port = Number(new URL(stack.url).port);
  });
  afterAll(async () => stack?.stop());

  it('answers malformed requests below 500 with S3 errors, ends every connection, stores nothing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(rawRequestText, { minLength: 1, maxLength: 10 }), async (requests) => {
      for (const text of requests) {
        const answer = await exchange(port, text);
        // Responses follow one another on the connection: check each status line.
        for (const m of answer.matchAll(/HTTP\/1\.[01] (\d{3})/g)) {
          const status = Number(m[1]);
          const label = `${JSON.stringify(text.slice(0, 200))} → ${answer.slice(0, 400)}`;
          expect(status < 500 || status === 501 || status === 505, label).toBe(true);
        }
        const first = /^HTTP\/1\.[01] (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(answer);
        if (first && Number(first[1]) >= 400 && !/^HEAD /.test(text) && /content-type: application\/xml/i.test(first[2] ?? '')) {
          expect(parseErrorXml(first[3] ?? '').Code, answer.slice(0, 400)).toBeTruthy();
        }
      }
      expect((await rawRequest(`${stack.url}/health`)).status).toBe(200);
      expect((await stack.db.pool.query('SELECT 1 FROM objects')).rowCount).toBe(0);
    }), fuzzRuns(10));
    expect([...(await backendObjects(stack.stores[0] as BackendStore)).keys()]).toEqual([]);
  }, fuzzTimeout(120_000));
});
