import type { IncomingMessage } from 'node:http';
import { finished, Readable, type Transform } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import { bodyExpectationsFromHeaders, createBodyPipeline, readWholeBody, type BodyDigests, type WholeBody } from '../body/index.js';
import { header, type S3Request } from './s3-request.js';
import { spoolBody } from './spooled-body.js';

export interface VerifiedBody {
  /** Size of the object bytes the client declared. */
  size: number;
  stream: Readable;
  digests(): Promise<BodyDigests>;
  /** Frees what holds the body (a spool file) once the request is done with it, read or not. */
  release(): void;
  /** The bytes whole, once verified: set when the body was read whole (see `verifiedBody`'s `whole`). */
  whole?: () => Promise<Buffer>;
}

const isChunked = (req: S3Request): boolean =>
  req.payload.kind === 'streaming-signed' || req.payload.kind === 'streaming-unsigned-trailer';

/**
 * The declared object size: x-amz-decoded-content-length for aws-chunked bodies, else
 * Content-Length. A body sent with plain `Transfer-Encoding: chunked` has none (undefined);
 * without either S3 answers 411.
 */
export function declaredSize(req: S3Request): number | undefined {
  const raw = isChunked(req) ? header(req.raw, 'x-amz-decoded-content-length') : header(req.raw, 'content-length');
  if (raw === undefined) {
    const transferEncoding = header(req.raw, 'transfer-encoding');
    if (transferEncoding === undefined || isChunked(req)) throw new DomainError('MissingContentLength');
    if (transferEncoding.trim().toLowerCase() !== 'chunked') {
      throw new DomainError('NotImplemented', 'A header you provided implies functionality that is not implemented: Transfer-Encoding other than chunked.', { Header: 'Transfer-Encoding' });
    }
    return undefined;
  }
  if (!/^\d{1,16}$/.test(raw)) throw new DomainError('InvalidArgument', 'Content-Length must be a non-negative integer.');
  return Number(raw);
}

/**
 * Feeds the request into the body pipeline. Unlike `pipeline`, a failed verification does not
 * destroy the request: the handler answers the error and the rest of the body can still be
 * drained, so the connection stays usable. A request cut off by the client fails the body.
 */
function feed(raw: IncomingMessage, body: Transform): void {
  raw.pipe(body);
  body.once('error', () => raw.unpipe(body));
  finished(raw, (err) => {
    // The client closed the connection mid-body: a client error, not the backend's or ours.
    if (err) body.destroy(new DomainError('IncompleteBody', 'The connection closed before the body ended.'));
  });
}

/**
 * The request body as verified object bytes (decoded, hashes and signatures checked while it
 * flows); `sha256` (integrity.enabled) computes the SHA-256 of the bytes and hands it on. A body of
 * unknown length (plain HTTP chunking) is spooled and verified first. A body of a declared length
 * up to `whole` bytes without aws-chunked framing is read whole without a stream in between (the
 * writer buffers such a body anyway): `whole()` answers its bytes, and `stream` is there for
 * whoever wants them as a stream.
 */
export async function verifiedBody(req: S3Request, maxObjectSize: number, opts: { sha256?: boolean; whole?: number } = {}): Promise<VerifiedBody> {
  const size = declaredSize(req);
  if (size !== undefined && size > maxObjectSize) throw new DomainError('EntityTooLarge', undefined, { ProposedSize: size, MaxSizeAllowed: maxObjectSize });
  // Set on the fresh object, not spread into a new one: a field added after a spread is a runtime call in Node 20.
  const expectations = bodyExpectationsFromHeaders(req.raw.headersDistinct, req.payload);
  expectations.sha256 = opts.sha256 === true;
  // The SHA-256 a client's x-amz-content-sha256 made us compute is recorded only while integrity is on.
  const recorded = (d: BodyDigests): BodyDigests => {
    if (opts.sha256 === true) return d;
    const { sha256Hex: _unrecorded, ...rest } = d;
    return rest;
  };
  if (size !== undefined && !isChunked(req) && size <= (opts.whole ?? -1)) {
    const whole = readWholeBody(req.raw, expectations);
    whole.catch(() => undefined); // answered to whoever asks for the bytes, the digests or the stream
    return new WholeVerifiedBody(size, whole, recorded);
  }
  // The socket's chunks reach the pipeline alone (see `feed`), so they are the pipeline's to give
  // away. Not a body to spool: relayed bytes come out a batch at a time, and a spool takes them as they arrive.
  const body = createBodyPipeline(expectations, { ownsChunks: size !== undefined });
  feed(req.raw, body.stream);
  if (size === undefined) {
    const spooled = await spoolBody(body, maxObjectSize);
    return { size: spooled.digests.size, stream: spooled.stream, digests: () => Promise.resolve(recorded(spooled.digests)), release: () => spooled.stream.destroy() };
  }
  return { size, stream: body.stream, digests: () => body.digests().then(recorded), release: () => undefined };
}

/**
 * A body read whole. Its stream is made on first use: the writer takes `whole`, so most such
 * bodies never need one. A class, not an object literal with a getter: in Node 20 such a literal
 * is made in dictionary mode, by a runtime call per request, and every read of it is a lookup.
 */
class WholeVerifiedBody implements VerifiedBody {
  #stream: Readable | undefined;

  constructor(readonly size: number, private readonly read: Promise<WholeBody>, private readonly recorded: (d: BodyDigests) => BodyDigests) {}

  get stream(): Readable {
    return (this.#stream ??= streamOf(this.read));
  }

  digests(): Promise<BodyDigests> {
    return this.read.then((w) => this.recorded(w.digests));
  }

  release(): void {}

  /** A field, not a method: it is handed on unbound (PutObjectInput.whole). */
  readonly whole = (): Promise<Buffer> => this.read.then((w) => w.data);
}

/** A body read whole as a stream: its bytes once verified, else its verification's error. */
function streamOf(whole: Promise<WholeBody>): Readable {
  const stream = new Readable({ read: () => undefined });
  whole.then((w) => {
    stream.push(w.data);
    stream.push(null);
  }, (err: unknown) => stream.destroy(err as Error));
  // Nobody may read it (the writer takes `whole`): its error is the request's, answered from `whole`.
  stream.on('error', () => undefined);
  return stream;
}

/** Reads a small XML request body (≤ 1 MiB) after verifying it like any other body. */
export async function readSmallBody(req: S3Request, limit = 1024 * 1024): Promise<Buffer> {
  const raw = header(req.raw, 'content-length');
  if (raw !== undefined && Number(raw) > limit && !isChunked(req)) throw new DomainError('MalformedXML', 'The XML you provided was too large.');
  const body = createBodyPipeline(bodyExpectationsFromHeaders(req.raw.headersDistinct, req.payload));
  feed(req.raw, body.stream);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body.stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      body.stream.destroy();
      throw new DomainError('MalformedXML', 'The XML you provided was too large.');
    }
    chunks.push(chunk as Buffer);
  }
  await body.digests();
  return Buffer.concat(chunks, total);
}
