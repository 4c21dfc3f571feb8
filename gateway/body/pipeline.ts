import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { DigestPool, OffloadedDigests } from './digest-pool.js';
import { RelayedDigests, type RelaySink } from './relayed-digests.js';
import { checksumAlgorithmOf, createChecksumHasher, decodeChecksumValue, type ChecksumHasher } from './checksums.js';
import type { BodyDigests, BodyExpectations, BodyPipeline, ChecksumAlgorithm } from './types.js';

/**
 * Chunks are streamed, never buffered, so their size does not bound memory; the limit only keeps
 * the size field sane. It is the S3 single-PUT maximum because the JS SDK sends each buffer its
 * source stream yields as one chunk (a 20 MiB Buffer in Readable.from becomes a 20 MiB chunk).
 */
export const DEFAULT_MAX_CHUNK_SIZE = 5 * 1024 * 1024 * 1024;

/** The checksum to verify: its algorithm and either the header value or the trailer to read it from. */
interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  name: string;
  headerValue?: Buffer;
}

export interface Plan {
  exp: BodyExpectations;
  chunked: boolean;
  contentMd5?: Buffer;
  checksum?: ExpectedChecksum;
}

function decodeContentMd5(value: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value) throw new DomainError('InvalidDigest');
  return bytes;
}

/** Checks everything that can be checked before the body arrives; throws DomainError. */
export function plan(exp: BodyExpectations): Plan {
  const chunked = exp.payload.kind === 'streaming-signed' || exp.payload.kind === 'streaming-unsigned-trailer';
  const withTrailer = exp.payload.kind === 'streaming-unsigned-trailer' ||
    (exp.payload.kind === 'streaming-signed' && exp.payload.trailer);
  const checksums: ExpectedChecksum[] = [];
  // for…in: no pair array per request (nearly every body has no checksum header).
  for (const name in exp.checksumHeaders) {
    const algorithm = checksumAlgorithmOf(name);
    if (algorithm === undefined) continue;
    checksums.push({ algorithm, name, headerValue: decodeChecksumValue(algorithm, name, exp.checksumHeaders[name] as string, 'header') });
  }
  for (const name of exp.trailerNames ?? []) {
    if (!withTrailer) {
      throw new DomainError('InvalidRequest', 'x-amz-trailer needs a STREAMING-*-TRAILER x-amz-content-sha256.');
    }
    const algorithm = checksumAlgorithmOf(name);
    if (algorithm === undefined) throw new DomainError('InvalidRequest', `The trailing header ${name} is not supported.`);
    checksums.push({ algorithm, name: name.toLowerCase() });
  }
  if (checksums.length > 1) {
    throw new DomainError('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  const p: Plan = { exp, chunked };
  if (exp.contentMd5 !== undefined) p.contentMd5 = decodeContentMd5(exp.contentMd5);
  if (checksums[0] !== undefined) p.checksum = checksums[0];
  return p;
}

/**
 * The hashes a body is verified by, fed slice by slice (decoded object bytes): MD5 (the ETag),
 * the SHA-256 when the payload hash, a SHA256 checksum or integrity asks for it, and the
 * x-amz-checksum-* algorithm's. `verify` checks them against the plan once the body has ended.
 * Given a pool, the MD5 and SHA-256 of a body past one batch are computed by its worker threads;
 * given a relay too, the slices pass through the worker (see `RelayedDigests`) and reach the sink
 * only once hashed.
 */
export class BodyHashes {
  private readonly direct: { md5: Hash; sha256: Hash | undefined } | undefined;
  private readonly offloaded: OffloadedDigests | undefined;
  private readonly relayed: RelayedDigests | undefined;
  private readonly checksum: ChecksumHasher | undefined;
  size = 0;

  constructor(private readonly p: Plan, pool?: DigestPool, relay?: RelaySink) {
    const { payload } = p.exp;
    const algorithm = p.checksum?.algorithm;
    const sha256 = payload.kind === 'sha256' || algorithm === 'SHA256' || p.exp.sha256 === true;
    const algs = sha256 ? ['md5', 'sha256'] : ['md5'];
    if (pool !== undefined && relay !== undefined) this.relayed = new RelayedDigests(pool, algs, relay);
    else if (pool !== undefined) this.offloaded = new OffloadedDigests(pool, algs);
    else this.direct = { md5: createHash('md5'), sha256: sha256 ? createHash('sha256') : undefined };
    if (algorithm !== undefined) {
      this.checksum = algorithm === 'SHA256' && sha256 ? undefined : createChecksumHasher(algorithm);
    }
  }

  /** With a relay, `slice` is handed over: the caller must neither read nor keep it afterwards. */
  update(slice: Buffer): void {
    this.checksum?.update(slice);
    this.size += slice.length;
    if (this.direct !== undefined) {
      this.direct.md5.update(slice);
      this.direct.sha256?.update(slice);
    } else if (this.relayed !== undefined) {
      this.relayed.update(slice);
    } else {
      this.offloaded?.update(slice);
    }
  }

  /** Resolves once the hashing caught up enough to take more of the body; undefined when it has. */
  backlog(): Promise<void> | undefined {
    return this.offloaded?.backlog();
  }

  /** Relayed bytes with the worker, not handed on yet. */
  get inFlight(): number {
    return this.relayed?.inFlight ?? 0;
  }

  /** Drops the digests of a body that will not be verified (it failed or was cut off). */
  dispose(): void {
    this.offloaded?.abort();
    this.relayed?.abort();
  }

  /** The digests, once every byte went through `update`; throws DomainError on any mismatch. `trailer` reads an aws-chunked trailer. */
  async verify(trailer: (name: string) => string | undefined = () => undefined): Promise<BodyDigests> {
    const { exp, contentMd5, checksum } = this.p;
    let md5: Buffer;
    let sha256: Buffer | undefined;
    if (this.direct !== undefined) {
      md5 = this.direct.md5.digest();
      sha256 = this.direct.sha256?.digest();
    } else {
      [md5, sha256] = await (this.relayed ?? this.offloaded as OffloadedDigests).digest() as [Buffer, Buffer | undefined];
    }
    if (contentMd5 !== undefined && !md5.equals(contentMd5)) throw new DomainError('BadDigest');
    const digests: BodyDigests = { md5Hex: md5.toString('hex'), size: this.size };

    if (sha256 !== undefined) digests.sha256Hex = sha256.toString('hex');
    if (exp.payload.kind === 'sha256' && digests.sha256Hex !== exp.payload.expectedHex) {
      throw new DomainError('XAmzContentSHA256Mismatch');
    }

    if (checksum !== undefined) {
      const computed = sha256 !== undefined && checksum.algorithm === 'SHA256'
        ? sha256
        : await (this.checksum as ChecksumHasher).digest();
      const expected = checksum.headerValue ?? trailerChecksum(checksum, trailer);
      if (!computed.equals(expected)) {
        throw new DomainError('BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      digests.checksum = { algorithm: checksum.algorithm, base64: computed.toString('base64') };
    }
    return digests;
  }
}

function trailerChecksum(checksum: ExpectedChecksum, trailer: (name: string) => string | undefined): Buffer {
  const value = trailer(checksum.name);
  if (value === undefined) {
    throw new DomainError('IncompleteBody', `The trailing header ${checksum.name} named in x-amz-trailer was not sent.`);
  }
  return decodeChecksumValue(checksum.algorithm, checksum.name, value, 'trailing header');
}

/** Streamed bodies' digests are computed off the main thread, which bounds a single-stream PUT. */
const digestPool = new DigestPool();

/** Relayed bytes with the worker (and unread bytes, see `BodyTransform`) past which the body waits. */
const RELAY_WINDOW = 4 * 1024 * 1024;

export interface PipelineOptions {
  /**
   * The chunks written to the stream are its own to give away (nobody else reads or keeps them, as
   * with a request's socket reads): a plain body's chunks then go to the digest worker and back
   * instead of being copied for it (see `RelayedDigests`).
   */
  ownsChunks?: boolean;
  pool?: DigestPool;
}

class BodyTransform extends Transform {
  private readonly hashes: BodyHashes;
  private readonly decoder: AwsChunkedDecoder | undefined;
  private readonly relaying: boolean;
  /** A write's callback held back while the relayed bytes fill the window. */
  private held: TransformCallback | undefined;
  private flushing = false;
  private settled = false;
  private resolveDigests!: (d: BodyDigests) => void;
  private rejectDigests!: (e: Error) => void;
  readonly result: Promise<BodyDigests>;

  constructor(private readonly p: Plan, options: PipelineOptions) {
    // Relayed bytes are pushed a batch at a time when the worker hands them back: a mark of a
    // window's size lets a batch in without holding the writer back at once.
    super(options.ownsChunks === true && !p.chunked ? { readableHighWaterMark: RELAY_WINDOW } : undefined);
    this.result = new Promise<BodyDigests>((resolve, reject) => {
      this.resolveDigests = resolve;
      this.rejectDigests = reject;
    });
    this.result.catch(() => undefined); // the stream's own 'error' reports it; nobody has to await this
    this.relaying = options.ownsChunks === true && !p.chunked;
    const sink: RelaySink | undefined = this.relaying
      ? { data: (bytes) => this.relayed(bytes), failed: (e) => this.relayFailed(e) }
      : undefined;
    this.hashes = new BodyHashes(p, options.pool ?? digestPool, sink);
    const { payload } = p.exp;
    if (p.chunked) {
      this.decoder = new AwsChunkedDecoder({
        signing: payload.kind === 'streaming-signed'
          ? { signingKey: payload.signingKey, scope: payload.scope, amzDate: payload.amzDate, seedSignature: payload.seedSignature }
          : undefined,
        trailers: payload.kind === 'streaming-unsigned-trailer' || (payload.kind === 'streaming-signed' && payload.trailer),
        maxChunkSize: p.exp.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE,
        onData: (slice) => this.emitData(slice),
      });
    }
  }

  private emitData(slice: Buffer): void {
    this.hashes.update(slice);
    const declared = this.p.exp.decodedContentLength;
    if (this.p.chunked && declared !== undefined && this.hashes.size > declared) {
      throw new DomainError('InvalidRequest', 'The body is longer than x-amz-decoded-content-length.');
    }
    if (!this.relaying) this.push(slice);
  }

  private relayed(bytes: Buffer): void {
    this.push(bytes);
    if (!this.windowFull) this.release();
  }

  /**
   * Transform's own check never holds a relaying write back (its callback comes before the bytes
   * are pushed), so the unread bytes count here too. Being under the readable side's mark (the
   * window), the held callback then never meets Transform's check either.
   */
  private get windowFull(): boolean {
    return this.hashes.inFlight + this.readableLength >= RELAY_WINDOW;
  }

  /**
   * The reader wants more. Looked at on the next tick: `_read` runs inside `read()` before the
   * bytes read leave the buffer, and is not called again until something is pushed.
   */
  override _read(size: number): void {
    super._read(size);
    if (this.held !== undefined) process.nextTick(() => { if (!this.windowFull) this.release(); });
  }

  private relayFailed(e: Error): void {
    if (this.flushing) return; // the flush's digests reject with it
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) held(e);
    else this.destroy(e);
  }

  private release(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    held();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.decoder !== undefined) this.decoder.write(chunk);
      else this.emitData(chunk);
    } catch (e) {
      callback(e as Error);
      return;
    }
    if (this.relaying) {
      if (this.windowFull) this.held = callback;
      else callback();
      return;
    }
    const backlog = this.hashes.backlog();
    if (backlog === undefined) callback();
    else backlog.then(() => callback(), (e: unknown) => callback(e as Error));
  }

  override _flush(callback: TransformCallback): void {
    this.flushing = true;
    this.finish().then(
      (digests) => {
        this.settled = true;
        this.resolveDigests(digests);
        callback();
      },
      (e: unknown) => callback(e as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settled) {
      this.settled = true;
      this.hashes.dispose();
      this.rejectDigests(error ?? new DomainError('IncompleteBody', 'The request body was not read to its end.'));
    }
    callback(error);
  }

  private async finish(): Promise<BodyDigests> {
    const { exp } = this.p;
    const decoder = this.decoder;
    if (decoder !== undefined) {
      decoder.end();
      const declared = exp.trailerNames ?? [];
      for (const name of decoder.trailers.keys()) {
        if (!declared.includes(name)) {
          throw new DomainError('InvalidRequest', `The trailing header ${name} was not named in x-amz-trailer.`);
        }
      }
      if (exp.decodedContentLength !== undefined && this.hashes.size !== exp.decodedContentLength) {
        throw new DomainError('IncompleteBody', 'The body is shorter than x-amz-decoded-content-length.');
      }
    }
    return this.hashes.verify((name) => decoder?.trailers.get(name));
  }
}

/**
 * Turns a raw request body into verified object bytes: decodes aws-chunked framing, checks chunk
 * and trailer signatures, the payload SHA-256, Content-MD5 and the x-amz-checksum-* value, and
 * computes MD5 (the ETag) and size. Any failure is a stream error raised before the stream ends,
 * so a consumer never sees a clean end of an unverified body. Throws DomainError at once for
 * expectations that are malformed (Content-MD5, checksum header, x-amz-trailer).
 */
export function createBodyPipeline(exp: BodyExpectations, options: PipelineOptions = {}): BodyPipeline {
  const stream = new BodyTransform(plan(exp), options);
  return { stream, digests: () => stream.result };
}
