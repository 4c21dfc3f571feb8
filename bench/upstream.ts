import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { forkServer, isMainModule, serveAsChild, type ChildServer } from './child.js';
import { PATTERN_BYTES, PatternMatcher, patternSlices } from './pattern.js';

/**
 * A fast S3-ish backend answering from memory: path-style `/<bucket>/<key>` PUT, GET (with a
 * single byte range), HEAD and DELETE, plus HeadBucket and ListObjectsV2. SigV4 signatures are
 * accepted without being verified. Bodies that are the benchmark's repeated pattern are stored as
 * a length (see pattern.ts), anything else as its bytes, so a 1 GiB upload costs no memory here
 * and every GET still returns exactly the bytes that were PUT.
 *
 * ETags are the MD5 of the body up to 1 MiB (Content-MD5 is checked too); larger bodies get a
 * random 32-hex ETag instead, because hashing them would make this the slowest hop of the test.
 */

const HASHED_BODY_LIMIT = 1 << 20;

interface StoredObject {
  size: number;
  /** Leading bytes that are the repeated pattern. */
  patternPrefix: number;
  /** The bytes after the pattern prefix. */
  tail: Buffer[];
  etag: string;
  contentType: string;
  metadata: [string, string][];
  lastModified: string;
}

const objects = new Map<string, StoredObject>();

/**
 * `POST` here drops every stored object (no S3 bucket name starts with "_"). The bench calls it
 * between workloads: the 4 KiB PUT rows leave ~160,000 small bodies (~900 MB of RSS) behind, and
 * holding them made this process's garbage collection slow every later large transfer through
 * it (the proxy's 64 MiB PUT fell from 592 to 322 MB/s after them).
 */
export const FORGET_PATH = '/_bench/forget';

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, 'utf8');
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': body.length });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, method?: string): void {
  if (method === 'HEAD') {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
    return;
  }
  sendXml(res, status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
}

function decodePath(raw: string): string {
  return raw.includes('%') ? decodeURIComponent(raw) : raw;
}

function objectHeaders(obj: StoredObject): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: obj.etag, 'last-modified': obj.lastModified, 'content-type': obj.contentType, 'accept-ranges': 'bytes',
  };
  for (const [name, value] of obj.metadata) headers[name] = value;
  return headers;
}

/**
 * A body that is not the pattern (an encrypted one), copied into blocks of the pattern's slice
 * size as it arrives, so it is served as the pattern is: kept as the socket reads it came in, a
 * 64 MiB GET was ~1,000 writes of up to 64 KiB against the pattern's 64 of 1 MiB, and this
 * stand-in, not the target, set the pace of the encrypted 64 MiB GET rows. Copied as it arrives
 * (not joined at the end, which held up the PUT's answer), each block no larger than what is left
 * of the declared length.
 */
class BlockStore {
  readonly blocks: Buffer[] = [];
  #block: Buffer | undefined;
  #filled = 0;

  constructor(private left: number, private readonly memory: BodyArena | undefined) {}

  add(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length) {
      if (!this.#block) {
        const n = Math.max(1, Math.min(PATTERN_BYTES, this.left));
        this.#block = this.memory?.take(n) ?? Buffer.allocUnsafe(n);
        this.#filled = 0;
      }
      const n = bytes.copy(this.#block, this.#filled, at);
      at += n;
      this.#filled += n;
      this.left -= n;
      if (this.#filled === this.#block.length) this.#close();
    }
  }

  finish(): Buffer[] {
    if (this.#block) this.#close();
    return this.blocks;
  }

  #close(): void {
    const block = this.#block as Buffer;
    this.blocks.push(this.#filled === block.length ? block : block.subarray(0, this.#filled));
    this.#block = undefined;
  }
}

/**
 * `memory` zeroed twice, in place: by reading /dev/zero into it, then by a fill. On this
 * benchmark's VM the first access to a page from the kernel, and the first from user space, each
 * cost ~5 us however the page was touched before (a socket sending 1 GiB of memory only a fill had
 * touched: 1,579 ms of CPU, 239 once the kernel had written it; a copy into 512 MiB only the kernel
 * had touched: 682 ms, 25 once user space had). Touched by a fill alone, every page of the arena
 * paid that when the GET rows first sent it, in the timed transfers: this process spent 1.4-1.7 s
 * per GB serving the encrypted gateway's 64 MiB GETs (1.38 of it copying into the socket) against
 * 0.2 for the plain gateway's, whose bodies leave from the one pattern block. Touched by the kernel
 * alone, the PUT rows' copies into it paid instead. Just a fill where /dev/zero cannot be read.
 */
function zeroBothWays(memory: Buffer): Buffer {
  let fd;
  try {
    fd = openSync('/dev/zero', 'r');
  } catch {
    return memory.fill(0);
  }
  try {
    for (let at = 0; at < memory.length;) at += readSync(fd, memory, at, Math.min(ZEROED_PER_READ, memory.length - at), null);
  } finally {
    closeSync(fd);
  }
  return memory.fill(0);
}

const ZEROED_PER_READ = 16 << 20;

/**
 * Memory for the bodies of large PUTs that are not the pattern, taken and touched once when the
 * process starts (outside every timed row) and handed out again after each forget. Taken fresh
 * instead, every stored ciphertext byte cost a page fault into new memory (~250,000 faults and
 * ~3 s of this process's CPU per GB on this machine) that a pattern body, stored as a length,
 * never paid: that, not the target, was most of the gap between the encrypted and the plain
 * gateway on the 64 MiB PUT rows. Copying a body into it is one pass over its bytes, as matching
 * the pattern is. What does not fit is allocated as before.
 */
export class BodyArena {
  readonly #memory: Buffer;
  #used = 0;

  constructor(bytes: number) {
    this.#memory = zeroBothWays(Buffer.allocUnsafeSlow(bytes));
  }

  /** `n` bytes of the arena, or undefined once it is full. */
  take(n: number): Buffer | undefined {
    if (this.#used + n > this.#memory.length) return undefined;
    this.#used += n;
    return this.#memory.subarray(this.#used - n, this.#used);
  }

  /**
   * Hands the whole arena out again, zeroed both ways once more: only once no stored object refers
   * to it, nor a response in flight. This VM takes back pages nobody touched for about a minute
   * (kdamond pages out cold physical memory), and the arena sits unused through the 4 KiB rows
   * (~90 s of a full run): the encrypted 64 MiB PUT row that followed paid every first touch again
   * in its timed copies (a copy into 512 MiB left alone 75 s: 198 ms, 37 before, 29 after). The
   * pattern bodies of every other target never enter the arena, so only that row paid it.
   */
  reset(): void {
    this.#used = 0;
    zeroBothWays(this.#memory);
  }
}

function* objectSlices(obj: StoredObject, start: number, end: number): Generator<Buffer> {
  if (start < obj.patternPrefix) yield* patternSlices(start, Math.min(end, obj.patternPrefix));
  let at = obj.patternPrefix;
  for (const chunk of obj.tail) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + chunk.length);
    if (from < to) yield chunk.subarray(from - at, to - at);
    at += chunk.length;
    if (at >= end) return;
  }
}

/** [start, end) of a `bytes=` header, 'unsatisfiable', or undefined for a whole-object GET. */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const n = Number(last);
    return n === 0 ? 'unsatisfiable' : [Math.max(0, size - n), size];
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  return [start, last === '' ? size : Math.min(size, Number(last) + 1)];
}

async function getObject(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
  const obj = objects.get(key);
  if (!obj) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', req.method);
  const headers = objectHeaders(obj);
  const range = parseRange(req.headers.range, obj.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${obj.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, obj.size];
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${obj.size}`;
  headers['content-length'] = end - start;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    res.end();
  } else if (obj.patternPrefix === 0 && obj.tail.length === 1) {
    res.end(start === 0 && end === obj.size ? obj.tail[0] : obj.tail[0]?.subarray(start, end));
  } else {
    await pipeline(Readable.from(objectSlices(obj, start, end), { objectMode: false }), res);
  }
}

async function putObject(req: IncomingMessage, res: ServerResponse, key: string, arena: BodyArena | undefined): Promise<void> {
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  const md5 = declared !== undefined && declared <= HASHED_BODY_LIMIT ? createHash('md5') : undefined;
  const matcher = new PatternMatcher();
  // Without a declared length, the reads are kept as they came.
  const store = declared === undefined ? undefined : new BlockStore(declared, declared > HASHED_BODY_LIMIT ? arena : undefined);
  const tail: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    md5?.update(chunk);
    const at = matcher.update(chunk);
    if (at >= 0) {
      const rest = at === 0 ? chunk : chunk.subarray(at);
      if (store) store.add(rest);
      else tail.push(rest);
    }
  }
  const digest = md5?.digest();
  const contentMd5 = req.headers['content-md5'];
  if (digest && typeof contentMd5 === 'string' && contentMd5 !== digest.toString('base64')) {
    return sendError(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const metadata: [string, string][] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata.push([name, value]);
  }
  const etag = `"${(digest ?? randomBytes(16)).toString('hex')}"`;
  objects.set(key, {
    size,
    patternPrefix: matcher.matchedPrefix,
    // Small bodies are copied so they do not pin the socket's larger read buffers.
    tail: store ? store.finish() : size <= HASHED_BODY_LIMIT && tail.length > 0 ? [Buffer.concat(tail)] : tail,
    etag,
    contentType: req.headers['content-type'] ?? 'binary/octet-stream',
    metadata,
    lastModified: new Date().toUTCString(),
  });
  res.writeHead(200, { etag, 'content-length': 0 });
  res.end();
}

function listObjectsV2(res: ServerResponse, bucket: string, query: URLSearchParams): void {
  const prefix = query.get('prefix') ?? '';
  const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
  const after = query.get('continuation-token') ?? query.get('start-after') ?? '';
  const base = `${bucket}/`;
  const keys = [...objects.keys()]
    .filter((k) => k.startsWith(base + prefix) && k.slice(base.length) > after)
    .map((k) => k.slice(base.length))
    .sort();
  const page = keys.slice(0, maxKeys);
  const truncated = keys.length > page.length;
  const contents = page.map((k) => {
    const obj = objects.get(base + k) as StoredObject;
    return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${new Date(obj.lastModified).toISOString()}</LastModified>`
      + `<ETag>${xmlEscape(obj.etag)}</ETag><Size>${obj.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
  }).join('');
  const next = truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1] ?? '')}</NextContinuationToken>` : '';
  sendXml(res, 200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name>`
    + `<Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`
    + `<IsTruncated>${truncated}</IsTruncated>${next}${contents}</ListBucketResult>`);
}

function bucketRequest(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams): void {
  if (req.method === 'HEAD') {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  } else if (req.method === 'GET' && query.has('location')) {
    sendXml(res, 200, '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>');
  } else if (req.method === 'GET' && query.get('list-type') === '2') {
    listObjectsV2(res, bucket, query);
  } else {
    sendError(res, 501, 'NotImplemented', 'The benchmark upstream does not implement this bucket operation.', req.method);
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, arena: BodyArena | undefined): Promise<void> {
  const url = req.url ?? '/';
  if (url === FORGET_PATH && req.method === 'POST') {
    objects.clear();
    arena?.reset();
    res.writeHead(204);
    res.end();
    return;
  }
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const slash = path.indexOf('/', 1);
  if (slash < 0 || slash === path.length - 1) {
    const bucket = decodePath(path.slice(1, slash < 0 ? undefined : slash));
    return bucketRequest(req, res, bucket, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
  }
  if (q >= 0 || req.headers['x-amz-copy-source'] !== undefined) {
    return sendError(res, 501, 'NotImplemented', 'The benchmark upstream does not implement multipart or copy.', req.method);
  }
  const key = decodePath(path.slice(1));
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return getObject(req, res, key);
    case 'PUT':
      return putObject(req, res, key, arena);
    case 'DELETE':
      objects.delete(key);
      res.writeHead(204);
      res.end();
      return;
    default:
      return sendError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', req.method);
  }
}

/** `arenaBytes`: the size of its BodyArena, touched here (none when 0). */
export function createUpstreamServer(arenaBytes = 0): Server {
  const arena = arenaBytes > 0 ? new BodyArena(arenaBytes) : undefined;
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    handle(req, res, arena).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', String(err));
      else res.destroy();
    });
  });
  server.headersTimeout = 60_000;
  return server;
}

async function listen(arenaBytes: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = createUpstreamServer(arenaBytes);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

/** Empties the upstream at `origin` (see FORGET_PATH). */
export async function forgetStoredObjects(origin: string): Promise<void> {
  const res = await fetch(`${origin}${FORGET_PATH}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`the upstream did not forget its objects: HTTP ${res.status}`);
}

/** Starts the upstream in its own process. */
export function startUpstream(arenaBytes = 0): Promise<ChildServer> {
  // Touching a large arena takes seconds on a loaded machine.
  return forkServer('upstream', fileURLToPath(import.meta.url), [String(arenaBytes)], 60_000);
}

if (isMainModule(import.meta.url)) await serveAsChild(() => listen(Number(process.argv[2] ?? 0)));
