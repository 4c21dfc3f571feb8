import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';

export const EMPTY_SHA256_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** What chains the signatures of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] body. */
export interface ChunkSigningContext {
  signingKey: Buffer;
  scope: string;
  amzDate: string;
}

/** Signature of one chunk, given the SHA-256 (hex) of its data and the previous signature. */
export function chunkSignature(ctx: ChunkSigningContext, previousSignature: string, dataSha256Hex: string): Buffer {
  const stringToSign = 'AWS4-HMAC-SHA256-PAYLOAD\n' + ctx.amzDate + '\n' + ctx.scope + '\n' + previousSignature + '\n' +
    EMPTY_SHA256_HEX + '\n' + dataSha256Hex;
  return createHmac('sha256', ctx.signingKey).update(stringToSign).digest();
}

/** Signature of the trailer section: `trailerText` is every trailer line as `name:value\n`. */
export function trailerSignature(ctx: ChunkSigningContext, previousSignature: string, trailerText: string): Buffer {
  const stringToSign = 'AWS4-HMAC-SHA256-TRAILER\n' + ctx.amzDate + '\n' + ctx.scope + '\n' + previousSignature + '\n' +
    createHash('sha256').update(trailerText).digest('hex');
  return createHmac('sha256', ctx.signingKey).update(stringToSign).digest();
}

/** Constant-time comparison of a computed signature with the hex one the client sent. */
export function assertSignature(expected: Buffer, providedHex: string, what: string): void {
  const provided = Buffer.from(providedHex, 'hex');
  if (providedHex.length !== 64 || provided.length !== 32 || !timingSafeEqual(provided, expected)) {
    throw new DomainError('SignatureDoesNotMatch', `The ${what} signature does not match.`);
  }
}
