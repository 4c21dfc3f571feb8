import { createHash, type Hash } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';
import {
  EMPTY_SHA256_HEX, assertSignature, chunkSignature, trailerSignature, type ChunkSigningContext,
} from './chunk-signature.js';

/**
 * Incremental decoder for `Content-Encoding: aws-chunked` bodies:
 *
 *   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
 *   [<name>:<value>\r\n …][x-amz-trailer-signature:<sig>\r\n]\r\n
 *
 * Input may be split anywhere. Data is handed on as slices of the input (never buffered); only a
 * framing line is accumulated, and it is capped. Every error is thrown from `write`/`end`.
 */

const CR = 13;
const LF = 10;
const MAX_LINE = 4096;
const MAX_TRAILERS = 16;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

const enum State { SizeLine, Data, DataCr, DataLf, TrailerLine, Done }

export interface ChunkedSigning extends ChunkSigningContext {
  seedSignature: string;
}

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk signature is verified. */
  signing?: ChunkedSigning;
  /** A trailer section may follow the final chunk (the -TRAILER variants). */
  trailers: boolean;
  maxChunkSize: number;
  onData(slice: Buffer): void;
}

function framingError(message: string): DomainError {
  return new DomainError('InvalidRequest', `Malformed aws-chunked body: ${message}.`);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class AwsChunkedDecoder {
  private state = State.SizeLine;
  private partial: Buffer[] = [];
  private partialLength = 0;
  private remaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSignatureHex = '';
  private previousSignature: string;
  private trailerText = '';
  private trailerSignatureSeen = false;
  readonly trailers = new Map<string, string>();

  constructor(private readonly opts: AwsChunkedOptions) {
    this.previousSignature = opts.signing?.seedSignature ?? '';
  }

  write(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.remaining, n - i);
          const slice = i === 0 && take === n ? buf : buf.subarray(i, i + take);
          this.chunkHash?.update(slice);
          this.opts.onData(slice);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== CR) throw framingError('chunk data is longer than its declared size');
          i++;
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (buf[i] !== LF) throw framingError('chunk data is not followed by CRLF');
          i++;
          this.endDataChunk();
          this.state = State.SizeLine;
          break;
        case State.SizeLine:
        case State.TrailerLine: {
          const nl = buf.indexOf(LF, i);
          if (nl === -1) {
            this.keepPartial(buf.subarray(i));
            i = n;
          } else {
            const line = this.takeLine(buf.subarray(i, nl));
            i = nl + 1;
            if (this.state === State.SizeLine) this.onSizeLine(line);
            else this.onTrailerLine(line);
          }
          break;
        }
        case State.Done:
          throw framingError('data after the end of the body');
      }
    }
  }

  /** Call at end of input: throws unless the body was complete. */
  end(): void {
    // Tolerated: input ending right after the final chunk or the last trailer, without the closing
    // empty line (the JS SDK omits it when it sends no trailer).
    const complete = this.state === State.Done || (this.state === State.TrailerLine && this.partialLength === 0);
    if (!complete) throw new DomainError('IncompleteBody', 'The aws-chunked body ended before its final chunk.');
    if (this.opts.signing !== undefined && this.opts.trailers && !this.trailerSignatureSeen) {
      throw new DomainError('SignatureDoesNotMatch', 'The signed trailer is missing x-amz-trailer-signature.');
    }
  }

  private keepPartial(piece: Buffer): void {
    this.partialLength += piece.length;
    if (this.partialLength > MAX_LINE) throw framingError('framing line too long');
    if (piece.length > 0) this.partial.push(Buffer.from(piece)); // copy: the input buffer is not ours to keep
  }

  /** Joins the accumulated partial line with its end, checks and strips the CR. */
  private takeLine(end: Buffer): string {
    let line = end;
    if (this.partial.length > 0) {
      line = Buffer.concat([...this.partial, end]);
      this.partial = [];
    }
    this.partialLength = 0;
    if (line.length > MAX_LINE) throw framingError('framing line too long');
    if (line.length === 0 || line[line.length - 1] !== CR) throw framingError('line not terminated by CRLF');
    return line.toString('latin1', 0, line.length - 1);
  }

  private onSizeLine(line: string): void {
    let size = 0;
    let i = 0;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 59 /* ; */) break;
      const v = hexValue(c);
      if (v < 0) throw framingError('chunk size is not hexadecimal');
      size = size * 16 + v;
      if (size > this.opts.maxChunkSize) {
        throw framingError(`chunk larger than the ${this.opts.maxChunkSize}-byte limit`);
      }
    }
    if (i === 0) throw framingError('missing chunk size');
    let signature: string | undefined;
    if (i < line.length) {
      for (const ext of line.slice(i + 1).split(';')) {
        const eq = ext.indexOf('=');
        if (eq !== -1 && ext.slice(0, eq) === 'chunk-signature') signature = ext.slice(eq + 1);
      }
    }
    if (this.opts.signing !== undefined) {
      if (signature === undefined) throw new DomainError('SignatureDoesNotMatch', 'A chunk has no chunk-signature.');
      this.chunkSignatureHex = signature;
    }
    if (size === 0) {
      if (this.opts.signing !== undefined) this.verifyChunk(EMPTY_SHA256_HEX);
      this.state = State.TrailerLine;
      return;
    }
    this.remaining = size;
    this.chunkHash = this.opts.signing !== undefined ? createHash('sha256') : undefined;
    this.state = State.Data;
  }

  private endDataChunk(): void {
    if (this.chunkHash !== undefined) {
      this.verifyChunk(this.chunkHash.digest('hex'));
      this.chunkHash = undefined;
    }
  }

  private verifyChunk(dataSha256Hex: string): void {
    const signing = this.opts.signing as ChunkedSigning;
    assertSignature(chunkSignature(signing, this.previousSignature, dataSha256Hex), this.chunkSignatureHex, 'chunk');
    this.previousSignature = this.chunkSignatureHex.toLowerCase();
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      this.state = State.Done;
      return;
    }
    if (!this.opts.trailers) throw framingError('trailing headers without a -TRAILER payload');
    const colon = line.indexOf(':');
    if (colon <= 0) throw framingError('trailing header without a name');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const signing = this.opts.signing;
    if (name === TRAILER_SIGNATURE) {
      if (signing === undefined) return; // an unsigned trailer has nothing to check it against
      if (this.trailerSignatureSeen) throw framingError('two trailer signatures');
      assertSignature(trailerSignature(signing, this.previousSignature, this.trailerText), value, 'trailer');
      this.trailerSignatureSeen = true;
      return;
    }
    if (this.trailerSignatureSeen) throw framingError('trailing header after the trailer signature');
    if (this.trailers.has(name)) throw framingError(`trailing header ${name} sent twice`);
    if (this.trailers.size >= MAX_TRAILERS) throw framingError('too many trailing headers');
    this.trailers.set(name, value);
    this.trailerText += line + '\n';
  }
}
