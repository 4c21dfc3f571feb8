/**
 * URI and header encodings S3 expects. The same strings go on the wire and into the SigV4
 * canonical request (the signer runs with `uriEscapePath: false`), so S3's own canonicalisation
 * — decode, then RFC 3986-encode each segment — reproduces exactly what we signed.
 */

const reservedBySubDelims = /[!'()*]/g;

/** Whether every char of `value` is `A-Z a-z 0-9 - . _ ~`, or also `/` when `slash`. */
function isUnreserved(value: string, slash: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126 || (slash && c === 47);
    if (!ok) return false;
  }
  return true;
}

/** RFC 3986: everything but `A-Z a-z 0-9 - . _ ~` percent-encoded from UTF-8. */
export function encodeRfc3986(value: string): string {
  // Most keys and values need no escape: they are returned as they are (every backend request encodes its key).
  if (isUnreserved(value, false)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    throw new TypeError('object key or query value is not well-formed UTF-16 (lone surrogate)');
  }
  return encoded.replace(reservedBySubDelims, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Each `/`-separated segment encoded, `/` kept; empty segments (`a//b`) preserved as S3 keeps them. */
export function encodeKeyPath(key: string): string {
  if (isUnreserved(key, true)) return key;
  return key.split('/').map(encodeRfc3986).join('/');
}

/**
 * Query string in canonical order. Empty values are written as a bare name (`?uploads`), which S3
 * canonicalises to `uploads=` just as the signer does.
 */
export function buildQueryString(query: Record<string, string>): string {
  const names = Object.keys(query).sort();
  if (names.length === 0) return '';
  return `?${names.map((n) => (query[n] === '' ? encodeRfc3986(n) : `${encodeRfc3986(n)}=${encodeRfc3986(query[n] ?? '')}`)).join('&')}`;
}

const printableAscii = /^[\x20-\x7e]*$/;

/**
 * Header-safe metadata value. HTTP headers travel as latin-1 while SigV4 hashes UTF-8, so a
 * non-ASCII value would break the signature: such values are sent RFC 2047-encoded, which S3
 * decodes on write and re-encodes on read.
 */
export function encodeMetadataValue(value: string): string {
  if (printableAscii.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

const encodedWord = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;

/** Inverse of `encodeMetadataValue` (and of what S3 sends back for non-ASCII metadata). */
export function decodeMetadataValue(value: string): string {
  if (!value.includes('=?')) return value;
  return value.replace(encodedWord, (word, charset: string, kind: string, text: string) => {
    if (charset.toLowerCase() !== 'utf-8') return word;
    if (kind === 'B' || kind === 'b') return Buffer.from(text, 'base64').toString('utf8');
    const bytes = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  });
}

export const unquoteEtag = (etag: string): string =>
  etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;

export const quoteEtag = (etag: string): string => `"${unquoteEtag(etag)}"`;
