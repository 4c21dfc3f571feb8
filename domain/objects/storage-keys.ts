import { DomainError } from '../errors.js';
import { MAX_KEY_BYTES, utf8ByteLength } from '../s3/keys.js';

/**
 * Storage keys: where a version's bytes live on a backend, `<bucket>/<path>~<writeId>` and, for
 * copies made later (replicas, moves), `…-<placementId>`. A (backend, storage key) pair is never
 * reused, so concurrent writers and movers never share bytes and cleanup never deletes a live
 * copy; write ids are time-ordered, so the newest version of a key can be found from backend
 * listings alone.
 *
 * `<path>` is the client's key encoded so that backends that map keys onto a file system (s3rver)
 * or normalise them cannot resolve it outside `<bucket>/`: it has no `.`, `..` or empty
 * component, no NUL or other control character, and no component longer than a file name may be.
 * The encoding is the identity for ordinary keys (and so for most keys written before it
 * existed) and reversible for every key:
 *
 * - the key is split on `/`; each segment is encoded on its own and joined with `/`;
 * - `%`, C0 controls, DEL and the non-characters U+FFFE/U+FFFF (which XML listings cannot carry)
 *   become `%XX` escapes of their UTF-8 bytes (uppercase hex);
 * - an empty segment (`a//b`, a leading or trailing `/`) is the component `%`;
 * - a segment that is `.` or `..` has its dots escaped (`%2E`);
 * - a segment too long for one component is cut, between characters, into pieces that end in a
 *   bare `%`: a component ending in `%` continues in the next one without a `/`.
 *
 * Decoding accepts only what encoding produces (re-encoding must give the same text), so every
 * client key has exactly one storage path.
 */

/** Backends limit keys to 1024 bytes. */
export const BACKEND_KEY_LIMIT = 1024;

/**
 * The longest `/`-separated component of a storage key, suffixes included. s3rver keeps each
 * object as files named `<last component>._S3rver_object`, `…._S3rver_object.md5` and
 * `…._S3rver_metadata.json` (22 bytes more), under the file system's 255-byte name limit; 200
 * leaves room for those and for other stores' suffixes.
 */
export const MAX_COMPONENT_BYTES = 200;

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
/** `~<writeId>` and `-<placementId>`, always reserved so every copy of a version fits. */
const SUFFIX_BYTES = 2 * (1 + 26);
const EMPTY_SEGMENT = '%';
const CONTINUES = '%';

interface Atom {
  text: string;
  bytes: number;
}

const utf8 = new TextEncoder();

function escapeBytes(ch: string): string {
  let out = '';
  for (const b of utf8.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function mustEscape(code: number): boolean {
  return code < 0x20 || code === 0x7f || code === 0x25 || code === 0xfffe || code === 0xffff;
}

/** One character of a segment as it is written in the storage key. */
function atomOf(ch: string): Atom {
  const code = ch.codePointAt(0) as number;
  if (code >= 0xd800 && code <= 0xdfff) {
    throw new DomainError('InvalidArgument', 'Object key is not valid UTF-8.');
  }
  const text = mustEscape(code) ? escapeBytes(ch) : ch;
  return { text, bytes: utf8ByteLength(text) };
}

const PLAIN_ASCII = /^[\x20-\x24\x26-\x7e]*$/;
/** An empty, `.` or `..` segment (`/` is in PLAIN_ASCII). */
const SPECIAL_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** The components one segment of the key becomes; the last one may hold at most `lastCap` bytes. */
function encodeSegment(segment: string, lastCap: number): string[] {
  if (segment === '') return [EMPTY_SEGMENT];
  // The common case, short printable ASCII without `%`, is its own encoding (one byte a character).
  if (segment.length <= lastCap && PLAIN_ASCII.test(segment) && segment !== '.' && segment !== '..') return [segment];
  const atoms = Array.from(segment, atomOf);
  let remaining = atoms.reduce((n, a) => n + a.bytes, 0);
  const components: string[] = [];
  let i = 0;
  // An atom is at most 12 bytes and lastCap far more, so every piece takes at least one.
  while (remaining > lastCap) {
    let text = '';
    let bytes = 0;
    while (i < atoms.length - 1 && bytes + (atoms[i] as Atom).bytes <= MAX_COMPONENT_BYTES - CONTINUES.length) {
      text += (atoms[i] as Atom).text;
      bytes += (atoms[i] as Atom).bytes;
      i++;
    }
    components.push(text + CONTINUES);
    remaining -= bytes;
  }
  const rest = atoms.slice(i).map((a) => a.text).join('');
  components.push(rest === '.' || rest === '..' ? rest.replaceAll('.', '%2E') : rest);
  return components;
}

/** The client key as the path part of its storage keys (see the module comment). */
export function encodeKeyPath(key: string): string {
  // A short plain-ASCII key without an empty, `.` or `..` segment is its own encoding: every
  // segment of it is plain and fits a component.
  if (key.length <= MAX_COMPONENT_BYTES - SUFFIX_BYTES && PLAIN_ASCII.test(key) && !SPECIAL_SEGMENT.test(key)) return key;
  const segments = key.split('/');
  return segments
    .flatMap((s, i) => encodeSegment(s, i === segments.length - 1 ? MAX_COMPONENT_BYTES - SUFFIX_BYTES : MAX_COMPONENT_BYTES))
    .join('/');
}

const ESCAPED_TEXT = /^(?:[^%]|%[0-9A-F]{2})*$/;

/** The client key a storage path encodes; undefined when `path` is not an encoding this module produces. */
export function decodeKeyPath(path: string): string | undefined {
  let key = '';
  let continues = true;
  for (const component of path.split('/')) {
    if (!continues) key += '/';
    continues = component !== EMPTY_SEGMENT && component.endsWith(CONTINUES);
    const text = component === EMPTY_SEGMENT ? '' : continues ? component.slice(0, -1) : component;
    if (!ESCAPED_TEXT.test(text)) return undefined;
    try {
      key += decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  if (continues || key === '' || utf8ByteLength(key) > MAX_KEY_BYTES) return undefined;
  try {
    return encodeKeyPath(key) === path ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The backend object of a version as its writer stores it. */
export function versionStorageKey(bucket: string, key: string, writeId: string): string {
  return `${bucket}/${encodeKeyPath(key)}~${writeId}`;
}

/** The backend object of a later copy of a version (a replica or a moved copy). */
export function placementStorageKey(bucket: string, key: string, writeId: string, placementId: string): string {
  return `${versionStorageKey(bucket, key, writeId)}-${placementId}`;
}

/** Throws KeyTooLongError unless every storage key of `key` fits the backends' key limit. */
export function assertKeyFitsBackends(bucket: string, key: string): void {
  const bytes = utf8ByteLength(bucket) + 1 + utf8ByteLength(encodeKeyPath(key)) + SUFFIX_BYTES;
  if (bytes > BACKEND_KEY_LIMIT) {
    throw new DomainError(
      'KeyTooLongError',
      `Your key is too long: in bucket ${bucket} it needs ${bytes} bytes of backend key, and backends allow ${BACKEND_KEY_LIMIT}.`,
    );
  }
}

export interface ParsedStorageKey {
  bucket: string;
  key: string;
  writeId: string;
  placementId?: string;
  /**
   * Written before keys were encoded (`<bucket>/<key as sent>~<writeId>`): the path is not an
   * encoding, so it is the client key itself. Such a key that happens to be a valid encoding
   * (`100%25`) is read as one: a lost log then restores it under the decoded key.
   */
  legacy?: true;
}

const STORAGE_KEY = new RegExp(`^([^/]+)/(.+)~(${ULID})(?:-(${ULID}))?$`, 's');

/** Parses one of our storage keys back into its parts (for reconcile and recovery); undefined for any other key. */
export function parseStorageKey(storageKey: string): ParsedStorageKey | undefined {
  const m = STORAGE_KEY.exec(storageKey);
  if (!m) return undefined;
  const [, bucket, path, writeId, placementId] = m as unknown as [string, string, string, string, string | undefined];
  const decoded = decodeKeyPath(path);
  const parts = { bucket, writeId, ...(placementId ? { placementId } : {}) };
  if (decoded !== undefined) return { ...parts, key: decoded };
  if (path.includes('\0') || utf8ByteLength(path) > MAX_KEY_BYTES) return undefined;
  return { ...parts, key: path, legacy: true };
}

/** The storage keys of `key`'s versions all start with this (its encoded path and `~`). */
export function versionKeyPrefix(bucket: string, key: string): string {
  return `${bucket}/${encodeKeyPath(key)}~`;
}

/** Where versions of `key` written before keys were encoded start, when that differs from `versionKeyPrefix`. */
export function legacyVersionKeyPrefix(bucket: string, key: string): string | undefined {
  const legacy = `${bucket}/${key}~`;
  return legacy === versionKeyPrefix(bucket, key) ? undefined : legacy;
}

const VERSION_SUFFIX = new RegExp(`^(${ULID})(?:-${ULID})?$`);

/** The write id of a storage key listed under `prefix` (from `versionKeyPrefix`), undefined if it is not one of that key's versions. */
export function writeIdUnder(prefix: string, storageKey: string): string | undefined {
  if (!storageKey.startsWith(prefix)) return undefined;
  return VERSION_SUFFIX.exec(storageKey.slice(prefix.length))?.[1];
}
