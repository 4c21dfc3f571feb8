import { createHash } from 'node:crypto';
import http from 'node:http';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'vitest';
import { NodeSha256 } from '../../bench/signing.js';
import { storeClient, type BackendStore } from './backend-stores.js';
import type { TestBucket, TestStack } from './orchestrator.js';

/** Helpers shared by the test/e2e/s3-*.test.ts files. */

export const md5Hex = (data: Uint8Array | string): string => createHash('md5').update(data).digest('hex');

/** The S3 multipart ETag of parts given by their bytes: MD5 of the part MD5s + `-N`. */
export function multipartEtag(parts: readonly Uint8Array[]): string {
  const digests = parts.map((p) => createHash('md5').update(p).digest());
  return `${md5Hex(Buffer.concat(digests))}-${parts.length}`;
}

/** Deterministic pseudo-random bytes (a test failure can be reproduced byte for byte). */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The S3 error code an SDK call failed with, or 'ok'. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

/** The HTTP status of an SDK failure. */
export async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; requestId: string | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, requestId: err.$metadata?.requestId };
  }
  throw new Error('expected the call to fail');
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header values as the bytes that were on the wire (latin-1 strings). */
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

/** One HTTP request with exactly these headers and body. */
export function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {}): Promise<RawResponse> {
  return send(url, opts);
}

/** `target`: a URL (normalised: `..` segments resolved) or request options (the path goes on the wire as given). */
function send(target: string | http.RequestOptions, opts: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const options = { ...(typeof target === 'string' ? {} : target), method: opts.method ?? 'GET', headers: opts.headers ?? {} };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    };
    const req = typeof target === 'string' ? http.request(target, options, onResponse) : http.request(options, onResponse);
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A SigV4 header-signed raw request for a bucket's credentials (the payload hash is signed). The
 * path goes on the wire exactly as given and signed (`..` segments and all). A header given as a
 * list is sent on several lines and signed as its values joined with ','.
 */
export async function signedRequest(
  stack: TestStack,
  bucket: TestBucket,
  opts: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string | string[]>; body?: Buffer | string },
): Promise<RawResponse> {
  const url = new URL(stack.url);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  const signer = new SignatureV4({
    credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey },
    region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: true,
  });
  const signed = await signer.sign({
    method: opts.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: opts.path, query: opts.query ?? {},
    headers: {
      host: url.host, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      ...Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    },
    body,
  });
  const query = new URLSearchParams(opts.query ?? {}).toString().replace(/\+/g, '%20');
  // Like the SDKs: header values are signed as text and sent as their UTF-8 bytes.
  const asWire = (v: string): string => Buffer.from(v, 'utf8').toString('latin1');
  const wire = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => {
    const lines = opts.headers?.[k];
    return [k, Array.isArray(lines) ? lines.map(asWire) : asWire(String(v))];
  }));
  return send({ hostname: url.hostname, port: url.port, path: `${opts.path}${query ? `?${query}` : ''}` }, { method: opts.method, headers: wire, body });
}

/** A request whose body the test sends piece by piece (see `openSignedUpload`). */
export interface OpenUpload {
  /** Sends a piece of the body; resolves once it is handed to the socket. */
  write(chunk: Buffer | string): Promise<void>;
  /** Ends the body (after an optional last piece) and resolves with the response. */
  end(chunk?: Buffer | string): Promise<RawResponse>;
  /** The response, without ending the body: for an answer that comes while the client still sends. */
  response: Promise<RawResponse>;
}

/**
 * A SigV4 header-signed request whose body is streamed by the caller: the payload hash is
 * `UNSIGNED-PAYLOAD` unless given, and without a `content-length` header the body goes out with
 * `Transfer-Encoding: chunked` (plain HTTP chunking).
 */
export async function openSignedUpload(
  stack: TestStack,
  bucket: TestBucket,
  opts: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; payloadHash?: string },
): Promise<OpenUpload> {
  const url = new URL(stack.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey },
    region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.sign({
    method: opts.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: opts.path, query: opts.query ?? {},
    headers: { host: url.host, 'x-amz-content-sha256': opts.payloadHash ?? 'UNSIGNED-PAYLOAD', ...opts.headers },
  });
  const query = new URLSearchParams(opts.query ?? {}).toString().replace(/\+/g, '%20');
  let req!: http.ClientRequest;
  const response = new Promise<RawResponse>((resolve, reject) => {
    req = http.request(`${stack.url}${opts.path}${query ? `?${query}` : ''}`, { method: opts.method, headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // awaited by `end`; an early answer must not be an unhandled rejection meanwhile
  return {
    write: (chunk) => new Promise((resolve, reject) => req.write(chunk, (err) => (err ? reject(err) : resolve()))),
    end: (chunk) => {
      req.end(chunk);
      return response;
    },
    response,
  };
}

/** Parses the `<Error>` body of an S3 error response. *//** Parses the `<Error>` body of an S3 error response. */
export function parseErrorXml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inner = /<Error>([\s\S]*)<\/Error>/.exec(text)?.[1] ?? '';
  for (const m of inner.matchAll(/<([A-Za-z]+)>([^<]*)<\/\1>/g)) out[m[1] as string] = m[2] as string;
  return out;
}

/** Every object key on a backend's bucket with its size, asked of the backend itself. */
export async function backendObjects(s: BackendStore): Promise<Map<string, number>> {
  const client = storeClient(s);
  const out = new Map<string, number>();
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: s.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.set(o.Key as string, o.Size ?? 0);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return out;
}

/**
 * Lets every orphan be reclaimed: waits for the background reclaims in flight, then runs the
 * cleanup worker now (it would otherwise run every 10 s) until no due item is left.
 */
export async function settleCleanup(stack: TestStack): Promise<void> {
  await stack.orchestrator.services.reclaimer.drain();
  await expect.poll(async () => {
    await stack.orchestrator.cleanup.runOnce();
    const due = await stack.db.pool.query(`SELECT count(*)::int AS n FROM cleanup_queue WHERE state = 'pending' AND next_retry_at <= now()`);
    return (due.rows[0] as { n: number }).n;
  }, { timeout: 20_000, interval: 100 }).toBe(0);
}

/**
 * The whole-system invariants after a test's writes settled: every backend object is a live
 * copy or a pending cleanup item (nothing untracked), every live copy exists on its backend with
 * its size, each key has one live version, and each backend's usage row equals its live copies.
 */
export async function expectConsistent(stack: TestStack, opts: { allowPendingCleanup?: boolean } = {}): Promise<void> {
  await settleCleanup(stack);
  const pool = stack.db.pool;
  const names = stack.config.backends.map((b) => b.name);
  const copies = await pool.query<{ backend: string; storage_key: string; size: string }>('SELECT backend, storage_key, size FROM object_copies');
  const queued = await pool.query<{ backend: string; storage_key: string }>(`SELECT backend, storage_key FROM cleanup_queue WHERE kind = 'object'`);
  if (!opts.allowPendingCleanup) expect(queued.rows).toEqual([]);
  for (const [i, name] of names.entries()) {
    const onBackend = await backendObjects(stack.stores[i] as BackendStore);
    const live = new Map(copies.rows.filter((c) => c.backend === name).map((c) => [c.storage_key, Number(c.size)]));
    const pending = new Set(queued.rows.filter((q) => q.backend === name).map((q) => q.storage_key));
    const untracked = [...onBackend.keys()].filter((k) => !live.has(k) && !pending.has(k));
    expect(untracked, `untracked objects on ${name}`).toEqual([]);
    for (const [key, size] of live) expect(onBackend.get(key), `live copy ${key} on ${name}`).toBe(size);
  }
  const dupes = await pool.query('SELECT bucket, key, count(*) FROM objects GROUP BY bucket, key HAVING count(*) > 1');
  expect(dupes.rows).toEqual([]);
  const orphanedCopies = await pool.query(
    'SELECT c.bucket, c.key FROM object_copies c LEFT JOIN objects o USING (bucket, key) WHERE o.key IS NULL OR o.write_id <> c.write_id',
  );
  expect(orphanedCopies.rows).toEqual([]);
  const usage = await pool.query<{ backend: string; bytes_used: string; object_count: string; orphan_bytes: string; expected_used: string; expected_count: string; expected_orphan: string }>(
    `SELECT u.backend, u.bytes_used, u.object_count, u.orphan_bytes,
            coalesce((SELECT sum(size) FROM object_copies c WHERE c.backend = u.backend), 0) AS expected_used,
            (SELECT count(*) FROM object_copies c WHERE c.backend = u.backend) AS expected_count,
            coalesce((SELECT sum(size) FROM cleanup_queue q WHERE q.backend = u.backend), 0) AS expected_orphan
       FROM backend_usage u ORDER BY u.backend`,
  );
  for (const u of usage.rows) {
    expect({ backend: u.backend, used: Number(u.bytes_used), count: Number(u.object_count), orphan: Number(u.orphan_bytes) })
      .toEqual({ backend: u.backend, used: Number(u.expected_used), count: Number(u.expected_count), orphan: Number(u.expected_orphan) });
  }
}

/** The event types on an object's stream, in order. */
export async function objectEventTypes(stack: TestStack, bucket: string, key: string): Promise<string[]> {
  const res = await stack.db.pool.query<{ type: string }>(
    'SELECT type FROM events WHERE stream_id = $1 ORDER BY revision', [`object-${bucket}/${key}`],
  );
  return res.rows.map((r) => r.type);
}
