import { createHash, createHmac } from 'node:crypto';

/**
 * A reference aws-chunked encoder written from the AWS SigV4 streaming spec, independent of the
 * gateway's decoder, for tests. It produces all three STREAMING-* variants.
 */

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export interface ReferenceSigning {
  signingKey: Buffer;
  scope: string;
  amzDate: string;
  seedSignature: string;
}

export interface EncodeOptions {
  /** Data bytes per chunk (the last data chunk may be shorter). */
  chunkSize: number;
  /** Sign every chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…). */
  signing?: ReferenceSigning;
  /** Trailing headers as [name, value]; signed with x-amz-trailer-signature when `signing` is set. */
  trailers?: [string, string][];
  /** Leave out the closing empty line (the JS SDK does that when it sends no trailer). */
  omitFinalCrlf?: boolean;
}

export function referenceSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  let k = createHmac('sha256', 'AWS4' + secret).update(date).digest();
  k = createHmac('sha256', k).update(region).digest();
  k = createHmac('sha256', k).update(service).digest();
  return createHmac('sha256', k).update('aws4_request').digest();
}

export function referenceChunkSignature(s: ReferenceSigning, previous: string, data: Buffer): string {
  const sts = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, previous, EMPTY_SHA256,
    createHash('sha256').update(data).digest('hex')].join('\n');
  return createHmac('sha256', s.signingKey).update(sts).digest('hex');
}

export function referenceTrailerSignature(s: ReferenceSigning, previous: string, trailers: [string, string][]): string {
  const text = trailers.map(([n, v]) => `${n}:${v}\n`).join('');
  const sts = ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, previous,
    createHash('sha256').update(text).digest('hex')].join('\n');
  return createHmac('sha256', s.signingKey).update(sts).digest('hex');
}

export interface Encoded {
  body: Buffer;
  /** Offsets in `body` where each data chunk starts, for tampering tests. */
  dataOffsets: number[];
  chunkSignatures: string[];
}

export function encodeAwsChunked(data: Buffer, opts: EncodeOptions): Encoded {
  const parts: Buffer[] = [];
  const dataOffsets: number[] = [];
  const chunkSignatures: string[] = [];
  let length = 0;
  const add = (b: Buffer | string): void => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    parts.push(buf);
    length += buf.length;
  };
  let previous = opts.signing?.seedSignature ?? '';
  const header = (chunk: Buffer): void => {
    let line = chunk.length.toString(16);
    if (opts.signing !== undefined) {
      previous = referenceChunkSignature(opts.signing, previous, chunk);
      chunkSignatures.push(previous);
      line += ';chunk-signature=' + previous;
    }
    add(line + '\r\n');
  };
  for (let off = 0; off < data.length; off += opts.chunkSize) {
    const chunk = data.subarray(off, Math.min(data.length, off + opts.chunkSize));
    header(chunk);
    dataOffsets.push(length);
    add(chunk);
    add('\r\n');
  }
  header(Buffer.alloc(0));
  const trailers = opts.trailers ?? [];
  for (const [n, v] of trailers) add(`${n}:${v}\r\n`);
  if (opts.signing !== undefined && opts.trailers !== undefined) {
    add(`x-amz-trailer-signature:${referenceTrailerSignature(opts.signing, previous, trailers)}\r\n`);
  }
  if (opts.omitFinalCrlf !== true) add('\r\n');
  return { body: Buffer.concat(parts), dataOffsets, chunkSignatures };
}
