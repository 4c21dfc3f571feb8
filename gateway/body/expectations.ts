import { DomainError } from '../../domain/errors.js';
import type { HeaderMap, PayloadMode } from '../auth/types.js';
import { CHECKSUM_PREFIX } from './checksums.js';
import type { BodyExpectations } from './types.js';

function first(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** Reads the body-related request headers into BodyExpectations for `createBodyPipeline`. */
export function bodyExpectationsFromHeaders(headers: HeaderMap, payload: PayloadMode): BodyExpectations {
  const exp: BodyExpectations = { payload, checksumHeaders: {} };
  const md5 = first(headers['content-md5']);
  if (md5 !== undefined) exp.contentMd5 = md5;
  const decoded = first(headers['x-amz-decoded-content-length']);
  if (decoded !== undefined) {
    if (!/^[0-9]{1,15}$/.test(decoded)) {
      throw new DomainError('InvalidArgument', 'x-amz-decoded-content-length must be a non-negative integer.');
    }
    exp.decodedContentLength = Number(decoded);
  }
  for (const name in headers) {
    const value = first(headers[name]);
    if (value !== undefined && name.startsWith(CHECKSUM_PREFIX)) exp.checksumHeaders[name] = value;
  }
  const trailer = first(headers['x-amz-trailer']);
  if (trailer !== undefined && trailer.trim() !== '') {
    exp.trailerNames = trailer.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
  }
  return exp;
}
