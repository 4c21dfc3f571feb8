import { connect, type Socket } from 'node:net';
import { PatternMatcher } from './pattern.js';
import type { SignedRequest } from './signing.js';

/**
 * The client side of the large GETs: HTTP/1.1 over one keep-alive socket that reads into one
 * buffer, filled by every read (`onread`) and touched before the first, with each body checked
 * against the pattern where it lies. Through undici a 64 MiB GET cost this process ~2.9 s of CPU
 * per GB: each socket read went into a fresh 64 KiB buffer (a page fault per 4 KiB, twice),
 * was copied once more into llhttp's memory, and the garbage buffers drove major GCs. That cost
 * competed with the target for the cores and, being about as large as the targets' own, pulled
 * every large-GET ratio towards 1.
 */

/** Big enough that a read drains what the socket holds, small enough to stay in L2. */
const READ_BUFFER_BYTES = 256 * 1024;
/** A status line and headers longer than this are refused. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Of an error response, the bytes kept for the failure description. */
const ERROR_TEXT_BYTES = 1024;

interface Exchange {
  size: number;
  done(failure: string | undefined): void;
  fail(err: Error): void;
  head: Buffer;
  status: number;
  contentLength: number;
  /** Body bytes received so far; -1 while the head is still coming in. */
  received: number;
  matcher: PatternMatcher;
  /** The start of an error response's body. */
  errorText: Buffer[];
  errorBytes: number;
  /** The server said `Connection: close`. */
  closeAfter: boolean;
}

function parseHead(text: string): { status: number; headers: Map<string, string> } | string {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!status) return `bad status line: ${(lines[0] ?? '').slice(0, 80)}`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(status[1]), headers };
}

export class LargeGetClient {
  readonly #host: string;
  readonly #port: number;
  readonly #buffer = Buffer.alloc(READ_BUFFER_BYTES, 1);
  #socket: Socket | undefined;
  #exchange: Exchange | undefined;

  constructor(origin: string) {
    const url = new URL(origin);
    this.#host = url.hostname;
    this.#port = Number(url.port);
  }

  /**
   * GETs `request`, whose body must be exactly `size` bytes of the repeated pattern with that
   * Content-Length; resolves to a failure description or undefined (rejects on a socket error).
   */
  get(request: SignedRequest, size: number): Promise<string | undefined> {
    if (this.#exchange) throw new Error('one GET at a time');
    const socket = this.#connected();
    const lines = [`GET ${request.path} HTTP/1.1`, ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`)];
    return new Promise((resolve, reject) => {
      const exchange: Exchange = {
        size, head: Buffer.alloc(0), status: 0, contentLength: 0, received: -1, matcher: new PatternMatcher(), errorText: [], errorBytes: 0, closeAfter: false,
        done: (failure) => {
          this.#exchange = undefined;
          // After a failure the connection may hold the rest of a response: it is not reused.
          if (failure !== undefined || exchange.closeAfter) this.close();
          resolve(failure);
        },
        fail: (err) => {
          this.#exchange = undefined;
          this.close();
          reject(err);
        },
      };
      this.#exchange = exchange;
      socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connected(): Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const socket = connect({
      host: this.#host, port: this.#port, noDelay: true,
      onread: {
        buffer: this.#buffer,
        callback: (n) => {
          this.#onRead(this.#buffer, n);
          return true;
        },
      },
    });
    const lost = (err?: Error): void => {
      // A socket this client closed itself may report so while the next GET runs on a new one.
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      const e = this.#exchange;
      if (!e) return;
      if (e.received >= 0) e.done(`short body: ${e.received} of ${e.contentLength} bytes`);
      else e.fail(err ?? new Error('connection closed before the response head'));
    };
    socket.on('error', lost).on('end', () => lost()).on('close', () => lost());
    this.#socket = socket;
    return socket;
  }

  #onRead(buf: Buffer, n: number): void {
    const e = this.#exchange;
    if (!e) {
      this.close();
      return;
    }
    let start = 0;
    if (e.received < 0) {
      start = this.#readHead(e, buf, n);
      if (start < 0) return;
    }
    const take = Math.min(n - start, e.contentLength - e.received);
    if (e.status < 300) {
      e.matcher.update(buf.subarray(start, start + take));
    } else if (e.errorBytes < ERROR_TEXT_BYTES) {
      e.errorText.push(Buffer.from(buf.subarray(start, start + Math.min(take, ERROR_TEXT_BYTES - e.errorBytes))));
      e.errorBytes += e.errorText.at(-1)?.length ?? 0;
    }
    e.received += take;
    if (start + take < n) return e.done(`${n - start - take} bytes past the Content-Length`);
    if (e.received < e.contentLength) return;
    if (e.status >= 300) return e.done(`HTTP ${e.status} ${Buffer.concat(e.errorText).toString('utf8')}`);
    e.done(e.matcher.matchesSoFar ? undefined : `wrong bytes from offset ${e.matcher.matchedPrefix}`);
  }

  /** Takes head bytes from the read; returns where the body starts in `buf`, or -1 (head incomplete, or the exchange ended). */
  #readHead(e: Exchange, buf: Buffer, n: number): number {
    const seen = e.head.length;
    e.head = Buffer.concat([e.head, buf.subarray(0, Math.min(n, MAX_HEAD_BYTES - seen))]);
    const end = e.head.indexOf('\r\n\r\n', Math.max(0, seen - 3), 'latin1');
    if (end < 0) {
      if (e.head.length >= MAX_HEAD_BYTES) e.done('response head too long');
      return -1;
    }
    const parsed = parseHead(e.head.toString('latin1', 0, end));
    if (typeof parsed === 'string') return (e.done(parsed), -1);
    const length = parsed.headers.get('content-length');
    e.status = parsed.status;
    e.closeAfter = parsed.headers.get('connection')?.toLowerCase() === 'close';
    if (length === undefined || !/^\d+$/.test(length)) return (e.done(`HTTP ${e.status} without a Content-Length`), -1);
    e.contentLength = Number(length);
    if (e.status < 300 && e.contentLength !== e.size) return (e.done(`Content-Length ${e.contentLength}, expected ${e.size}`), -1);
    e.received = 0;
    return end + 4 - seen;
  }
}
