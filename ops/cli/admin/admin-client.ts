import { parseListenAddr } from '../../reload.js';
import type { Config } from '../../../domain/config/config.js';

/** The admin API answered with an error status. */
export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'AdminHttpError';
  }
}

/** The request never got an HTTP answer. */
export class AdminUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminUnreachableError';
  }
}

const requestTimeoutMs = 60_000;

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is it running?',
  ENOTFOUND: 'host not found — check --addr or server.listen_addr',
  EAI_AGAIN: 'host name lookup failed — check --addr or server.listen_addr',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
};

function unreachableReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${requestTimeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  return (code && reasons[code]) ?? cause?.message ?? (err as Error).message;
}

/** The admin API's base URL for a listen address: wildcard hosts are reached on 127.0.0.1. */
export function adminUrlFor(listenAddr: string): string {
  const { host, port } = parseListenAddr(listenAddr);
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** `--addr` as given: a URL, or `host:port` (then http). */
export function normalizeAddr(addr: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`;
  return withScheme.replace(/\/+$/, '');
}

export function tokenFrom(config: Config): string | undefined {
  return config.ui.admin_token || config.ui.admin_key || undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

/** A thin JSON client for /admin/api with the X-Admin-Token header. */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  async request<T>(method: string, path: string, opts: { query?: Query | undefined; body?: unknown } = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}/admin/api/${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { 'x-admin-token': this.token, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method, headers, signal: AbortSignal.timeout(requestTimeoutMs),
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
    } catch (err) {
      throw new AdminUnreachableError(`cannot reach the orchestrator at ${this.baseUrl}: ${unreachableReason(err)}`);
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page, say): keep the text for the message.
    }
    if (res.status >= 400) {
      const message = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : `${res.statusText || 'error'}${text ? `: ${text.slice(0, 200)}` : ''}`;
      throw new AdminHttpError(res.status, body, message);
    }
    return body as T;
  }
}
