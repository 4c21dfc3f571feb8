import { DomainError } from '../../domain/errors.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const STREAMING_ECDSA_PREFIX = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD';

/** What an `x-amz-content-sha256` value declares about the body. */
export type PayloadDeclaration =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; expectedHex: string }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

function isSha256Hex(value: string): boolean {
  if (value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    const hex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (!hex) return false;
  }
  return true;
}

export function classifyContentSha256(value: string): PayloadDeclaration {
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED:
      return { kind: 'streaming-signed', trailer: false };
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'streaming-signed', trailer: true };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'streaming-unsigned-trailer' };
  }
  if (isSha256Hex(value)) return { kind: 'sha256', expectedHex: value.toLowerCase() };
  if (value.startsWith(STREAMING_ECDSA_PREFIX)) {
    throw new DomainError('NotImplemented', 'SigV4a (ECDSA) streaming payloads are not supported.');
  }
  throw new DomainError(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], ' +
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.',
  );
}
