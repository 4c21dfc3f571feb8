import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.js';
import { StoreUnavailableError } from '../../../domain/eventstore/errors.js';
import type { ObjectVersion } from '../../../domain/objects/object-state.js';
import { evaluateConditions, type Conditions } from '../../../domain/s3/conditionals.js';
import { quoteEtag } from '../../../domain/s3/etag.js';
import { responseHeaderOverrides } from '../../../domain/s3/metadata.js';
import { parsePartNumber } from '../../../domain/s3/multipart.js';
import { invalidRangeError, resolveRange, type RangeResolution } from '../../../domain/s3/ranges.js';
import { hasRecordedHash } from '../../../services/integrity/content-hash.js';
import { openVerifiedRead } from '../../../services/integrity/verified-read.js';
import { copiesMissing } from '../../../services/objects/object-reader.js';
import type { Cause } from '../../../services/event-factory.js';
import type { ReadSignal } from '../../../infra/backend/index.js';
import type { S3Context } from '../s3-context.js';
import { header, type S3Request } from '../s3-request.js';
import { formatHttpDate, parseHttpDate } from '../xml/dates.js';

export function conditionsFrom(req: S3Request, prefix = 'if-'): Conditions {
  const h = (n: string) => header(req.raw, `${prefix}${n}`);
  return {
    ifMatch: h('match'),
    ifNoneMatch: h('none-match'),
    ifModifiedSinceMs: parseHttpDate(h('modified-since'), req.nowMs),
    ifUnmodifiedSinceMs: parseHttpDate(h('unmodified-since'), req.nowMs),
  };
}

/**
 * The current version of a key from the locations projection. While the database is
 * unreachable, reads fall back to the versions this instance saw recently, then to the newest
 * version found on the backends (degraded mode; writes and listings answer 503 meanwhile).
 */
export type VersionLookup = Pick<S3Context, 'objects' | 'locations' | 'degraded' | 'metrics' | 'logger'>;

/** `fresh`: ask the database even when this process keeps the key's committed state in memory. */
export async function requireCurrentVersion(ctx: VersionLookup, bucket: string, key: string, fresh = false): Promise<ObjectVersion> {
  // A state held in memory is what `load` would answer; taken directly, a hit skips the load's promises.
  const held = fresh ? undefined : ctx.objects.peek(bucket, key)?.current;
  if (held) {
    ctx.locations.remember(bucket, key, held);
    return held;
  }
  let current: ObjectVersion | undefined;
  try {
    current = (await (fresh ? ctx.objects.reload(bucket, key) : ctx.objects.load(bucket, key))).current;
    ctx.locations.remember(bucket, key, current);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    ctx.metrics.degradedReads.inc();
    const remembered = ctx.locations.get(bucket, key);
    if (remembered) ctx.metrics.degradedCacheHits.inc();
    current = remembered ?? (await ctx.degraded.find(bucket, key));
  }
  if (!current) throw new DomainError('NoSuchKey', undefined, { Key: key });
  return current;
}

/** How often a reader follows a version replaced under it before giving up (a key overwritten non-stop). */
const maxReplacedVersions = 10;

/**
 * Runs `use` on the current version of a key. A version overwritten or deleted between the
 * lookup and the read has had its bytes reclaimed: then the lookup is repeated, so the reader
 * gets the version that replaced it (or NoSuchKey), as it would from S3 just after the change.
 * A copy missing from an unchanged version is lost data, reported as such. A version this
 * process holds in memory is used at once, and `use`'s answer is passed on as it is: a read
 * answered from memory makes no promise here (three per request showed in the small GET's profile).
 */
export function withCurrentVersion<T>(
  ctx: VersionLookup, bucket: string, key: string, use: (v: ObjectVersion) => T | Promise<T>,
): T | Promise<T> {
  const held = ctx.objects.peek(bucket, key)?.current;
  if (held === undefined) return useCurrentVersion(ctx, bucket, key, use, 1);
  ctx.locations.remember(bucket, key, held);
  try {
    const answer = use(held);
    return answer instanceof Promise ? answer.catch((err: unknown) => afterFailedUse(ctx, bucket, key, use, held, err, 1)) : answer;
  } catch (err) {
    return afterFailedUse(ctx, bucket, key, use, held, err, 1);
  }
}

async function useCurrentVersion<T>(
  ctx: VersionLookup, bucket: string, key: string, use: (v: ObjectVersion) => T | Promise<T>, attempt: number,
): Promise<T> {
  const v = await requireCurrentVersion(ctx, bucket, key);
  try {
    return await use(v);
  } catch (err) {
    return afterFailedUse(ctx, bucket, key, use, v, err, attempt);
  }
}

/** `use` failed on version `v`: a copy missing from a version since replaced is read again in its replacement. */
async function afterFailedUse<T>(
  ctx: VersionLookup, bucket: string, key: string, use: (v: ObjectVersion) => T | Promise<T>, v: ObjectVersion, err: unknown, attempt: number,
): Promise<T> {
  if (!copiesMissing(err)) throw err;
  const now = await requireCurrentVersion(ctx, bucket, key, true).catch(() => undefined);
  if (now?.writeId === v.writeId || attempt >= maxReplacedVersions) {
    ctx.logger.error({ bucket, key, writeId: v.writeId, copies: v.copies }, 'no copy of the current version exists on its backends');
    throw err;
  }
  return useCurrentVersion(ctx, bucket, key, use, attempt + 1);
}

/**
 * The bytes of one part (GET/HEAD ?partNumber=N), from the part layout the version was written
 * with; an object written in one piece is one part. A part number the object does not have is
 * 400 InvalidPartNumber. An empty part has no byte range: it is served as an empty body.
 */
function partRange(v: ObjectVersion, partNumber: number): { range: RangeResolution | 'empty'; count: number } {
  const parts = v.parts ?? [{ partNumber: 1, size: v.size }];
  const index = parts.findIndex((p) => p.partNumber === partNumber);
  if (index === -1) {
    throw new DomainError('InvalidPartNumber', `The object has ${parts.length === 1 ? 'one part' : `${parts.length} parts`}; part ${partNumber} is not one of them.`, {
      PartNumberRequested: partNumber, ActualPartCount: parts.length,
    });
  }
  let start = 0;
  for (let i = 0; i < index; i++) start += parts[i]?.size ?? 0;
  const size = parts[index]?.size ?? 0;
  if (size === 0) return { range: v.size === 0 ? { kind: 'full' } : 'empty', count: parts.length };
  return { range: { kind: 'partial', start, end: start + size - 1 }, count: parts.length };
}

/**
 * A version's Last-Modified as epoch ms and as the header, parsed and formatted once per version
 * object (a version is immutable; the state cache hands the same object to every read of it), not
 * on every GET, where the two showed in the profile.
 */
const modifiedOf = new WeakMap<ObjectVersion, { ms: number; header: string }>();
function lastModified(v: ObjectVersion): { ms: number; header: string } {
  let m = modifiedOf.get(v);
  if (m === undefined) {
    const ms = Date.parse(v.lastModified);
    modifiedOf.set(v, (m = { ms, header: formatHttpDate(ms) }));
  }
  return m;
}

/** The headers S3 returns for an object on GET/HEAD, stored metadata bytes re-emitted as received. */
export function objectHeaders(v: ObjectVersion, req: S3Request): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': v.contentType,
    etag: quoteEtag(v.etag),
    'last-modified': lastModified(v).header,
    'accept-ranges': 'bytes',
  };
  if (v.headers.cacheControl) h['cache-control'] = v.headers.cacheControl;
  if (v.headers.contentDisposition) h['content-disposition'] = v.headers.contentDisposition;
  if (v.headers.contentEncoding) h['content-encoding'] = v.headers.contentEncoding;
  if (v.headers.contentLanguage) h['content-language'] = v.headers.contentLanguage;
  if (v.headers.expires) h.expires = v.headers.expires;
  for (const [name, value] of Object.entries(v.metadata)) h[`x-amz-meta-${name}`] = value;
  Object.assign(h, responseHeaderOverrides(req.params));
  return h;
}

/** GetObject and HeadObject: conditionals (also with a Range), ranges, part numbers, failover across copies. */
export function readObject(ctx: S3Context, req: S3Request, reply: FastifyReply, head: boolean): FastifyReply | Promise<FastifyReply> {
  return withCurrentVersion(ctx, req.bucket as string, req.key as string, (v) => serveVersion(ctx, req, reply, head, v));
}

/** Answers from memory when it can (a conditional's verdict, a HEAD, an empty or cached body) without a promise. */
function serveVersion(ctx: S3Context, req: S3Request, reply: FastifyReply, head: boolean, v: ObjectVersion): FastifyReply | Promise<FastifyReply> {
  const headers = objectHeaders(v, req);
  const verdict = evaluateConditions({ etag: v.etag, lastModifiedMs: lastModified(v).ms }, conditionsFrom(req));
  if (verdict.outcome === 'not-modified') {
    return reply.code(304).headers({ etag: headers.etag, 'last-modified': headers['last-modified'] }).send();
  }
  if (verdict.outcome === 'precondition-failed') {
    throw new DomainError('PreconditionFailed', undefined, { Condition: verdict.condition });
  }

  const partParam = req.query.get('partNumber');
  let range: RangeResolution;
  if (partParam !== null) {
    const p = partRange(v, parsePartNumber(partParam));
    headers['x-amz-mp-parts-count'] = String(p.count);
    if (p.range === 'empty') {
      headers['content-length'] = '0';
      return reply.code(200).headers(headers).send(head ? undefined : '');
    }
    range = p.range;
  } else {
    const rangeHeader = header(req.raw, 'range');
    range = resolveRange(rangeHeader, v.size);
    if (range.kind === 'unsatisfiable') throw invalidRangeError(rangeHeader ?? '', v.size);
  }
  if (range.kind === 'full' && v.checksum && header(req.raw, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    headers[`x-amz-checksum-${v.checksum.algorithm.toLowerCase()}`] = v.checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  const status = range.kind === 'partial' ? 206 : 200;
  const length = range.kind === 'partial' ? range.end - range.start + 1 : v.size;
  headers['content-length'] = String(length);
  if (range.kind === 'partial') headers['content-range'] = `bytes ${range.start}-${range.end}/${v.size}`;

  if (head) return reply.code(status).headers(headers).send();
  if (length === 0) return reply.code(status).headers(headers).send('');
  const bucket = req.bucket as string;
  const key = req.key as string;
  const cached = ctx.cache.read(bucket, key, v);
  if (cached) return reply.code(status).headers(headers).send(range.kind === 'partial' ? cached.subarray(range.start, range.end + 1) : cached);
  if (range.kind === 'full') {
    return readUncached(ctx, bucket, key, v, req.cause, () => req.signal).then((body) => reply.code(status).headers(headers).send(body));
  }
  // A ranged read is never checked: a part of the bytes cannot condemn a copy (nor fill the cache).
  return ctx.plain.open(v, range.kind === 'partial' ? { start: range.start, end: range.end } : undefined, req.signal)
    .then((opened) => reply.code(status).headers(headers).send(opened.bytes ?? opened.body));
}

/**
 * The client's bytes of a whole version (the S3 GET's and the dashboard's download): from the
 * object cache when it holds them, else read (checked against the recorded SHA-256 when
 * verify_on_read asks for it) and filled into the cache on the way. `lazySignal` may be a
 * function: a cache hit needs no signal, and making one per request showed in the profile.
 */
export async function openWholeObject(
  ctx: Pick<S3Context, 'config' | 'plain' | 'integrity' | 'cache'>, bucket: string, key: string, v: ObjectVersion, cause: Cause,
  lazySignal?: ReadSignal | (() => ReadSignal),
): Promise<Readable | Buffer> {
  return ctx.cache.read(bucket, key, v) ?? readUncached(ctx, bucket, key, v, cause, lazySignal);
}

/** A whole version's bytes read from its copies (the cache asked already, and missed), filling the cache. */
async function readUncached(
  ctx: Pick<S3Context, 'config' | 'plain' | 'integrity' | 'cache'>, bucket: string, key: string, v: ObjectVersion, cause: Cause,
  lazySignal?: ReadSignal | (() => ReadSignal),
): Promise<Readable | Buffer> {
  const signal = typeof lazySignal === 'function' ? lazySignal() : lazySignal;
  const integrity = ctx.config().integrity;
  if (integrity.enabled && integrity.verify_on_read && hasRecordedHash(v)) {
    const deps = { reader: ctx.plain, integrity: ctx.integrity, bufferLimit: ctx.config().server.small_body_buffer };
    // The cache is filled only from the verified bytes: a copy that fails the check is never cached.
    return ctx.cache.fill(bucket, key, v, await openVerifiedRead(deps, bucket, key, v, cause, signal));
  }
  // A small plaintext body comes received whole; `body` is asked for only when it did not.
  const small = v.size <= smallReadBytes;
  const opened = await ctx.plain.open(v, undefined, signal, undefined, small ? smallReadBytes : undefined);
  const bytes = opened.bytes;
  if (bytes !== undefined && bytes.length !== v.size) throw wrongSize(bytes.length, v.size);
  return ctx.cache.fill(bucket, key, v, bytes ?? (small ? await readWhole(opened.body, v.size) : opened.body));
}

const wrongSize = (length: number, size: number): Error => new Error(`a copy gave ${length} bytes for a version of ${size}`);

/**
 * Whole reads up to this size are taken in before the answer starts and sent as one Buffer: the
 * response is written in one go, without the piping a stream costs per request (it showed in
 * the small GET's profile); a copy that fails mid-body fails the request instead of cutting the
 * response short. Bounded per request, so admission bounds the memory.
 */
const smallReadBytes = 64 * 1024;

/** The whole of a small body; a body not of the version's size is an error, never sent. */
function readWhole(body: Readable, size: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let ended = false;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    body.once('end', () => {
      ended = true;
      if (length !== size) reject(wrongSize(length, size));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
    });
    body.once('error', reject);
    // Destroyed without an error (its consumer's abort): nothing more will come.
    body.once('close', () => {
      if (!ended) reject(new Error('the copy\'s body closed before its end'));
    });
  });
}
