import { isWellFormedEnvelope } from '../encryption/envelope.js';
import { Checksum, ContentSha256, ObjectHeaders } from './common.js';
import { ObjectWritten } from './object-events.js';

/**
 * Hand checks of the events the write path appends on every request: data that passes is exactly
 * what its zod schema would answer (every rule, no unknown field), so the codec takes it as it is;
 * anything else (unknown fields to strip, a rule broken, a rare shape such as a multipart layout)
 * goes through the schema, which decides. Validating each PUT's ObjectWritten with zod was a
 * visible share of the gateway's commit path.
 */

const checksumAlgorithms: ReadonlySet<unknown> = new Set(Checksum.shape.algorithm.options);
const origins: ReadonlySet<unknown> = new Set(ObjectWritten.shape.origin.options);
const headerNames: ReadonlySet<string> = new Set(Object.keys(ObjectHeaders.shape));
const objectWrittenFields = Object.keys(ObjectWritten.shape).length;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function countKeys(value: Record<string, unknown>): number {
  let n = 0;
  for (const name in value) if (Object.hasOwn(value, name)) n++;
  return n;
}

const isSize = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
const isFilled = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

function areStrings(value: unknown, allowed?: ReadonlySet<string>): boolean {
  if (!isPlainObject(value)) return false;
  for (const name in value) {
    if (!Object.hasOwn(value, name)) return false;
    if (typeof value[name] !== 'string' || (allowed !== undefined && !allowed.has(name))) return false;
  }
  return true;
}

function areCopies(value: unknown, fields: 3 | 4, atLeastOne: boolean): boolean {
  if (!Array.isArray(value) || (atLeastOne && value.length === 0)) return false;
  for (const c of value as unknown[]) {
    if (!isPlainObject(c) || countKeys(c) !== fields) return false;
    if (!isFilled(c['backend']) || !isFilled(c['storageKey']) || !isSize(c['size'])) return false;
    if (fields === 4 && !isFilled(c['cleanupId'])) return false;
  }
  return true;
}

const isChecksum = (value: unknown): boolean =>
  value === null || (isPlainObject(value) && countKeys(value) === 2 && checksumAlgorithms.has(value['algorithm']) && typeof value['value'] === 'string');

/** Whether ObjectWritten's schema would answer `value` itself (a multipart layout is left to the schema). */
export function isWellFormedObjectWritten(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const d = value;
  const uploadId = Object.hasOwn(d, 'uploadId');
  return countKeys(d) === (uploadId ? objectWrittenFields : objectWrittenFields - 1)
    && (!uploadId || typeof d['uploadId'] === 'string')
    && typeof d['bucket'] === 'string' && typeof d['key'] === 'string' && typeof d['writeId'] === 'string'
    && isSize(d['size']) && (d['previousSize'] === null || isSize(d['previousSize']))
    && typeof d['etag'] === 'string' && typeof d['contentType'] === 'string'
    && areStrings(d['metadata']) && areStrings(d['headers'], headerNames)
    && isChecksum(d['checksum'])
    && (d['contentSha256'] === null || ContentSha256.safeParse(d['contentSha256']).success)
    && d['parts'] === null
    && isFilled(d['lastModified'])
    && areCopies(d['copies'], 3, true) && areCopies(d['displaced'], 4, false)
    && origins.has(d['origin'])
    // The envelope schema answers exactly the envelopes this check passes unchanged (any other it
    // rebuilds or refuses); asking the schema itself cost a zod parse per encrypted PUT, twice.
    && (d['encryption'] === null || isWellFormedEnvelope(d['encryption']));
}
