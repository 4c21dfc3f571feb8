/** Shared pieces of the S3 response XML: prologue, namespace, escaping. */

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface Owner {
  id: string;
  displayName: string;
}

// Matching control characters is the point of these two.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>"'\u0000-\u001F\u0085\u2028]/;
// eslint-disable-next-line no-control-regex
const ESCAPABLE = /[&<>"'\u0000-\u001F\u0085\u2028]/g;

function escapeChar(ch: string): string {
  switch (ch) {
    case '&': return '&amp;';
    case '<': return '&lt;';
    case '>': return '&gt;';
    case '"': return '&quot;';
    case "'": return '&apos;';
    // Every C0 control travels as a character reference, as S3 sends them (`&#xA;`, `&#x1;`):
    // parsers normalise a raw CR (and, in XML 1.1 readers such as the AWS SDK's, U+0085 and
    // U+2028) to LF, and a raw TAB or LF is at the mercy of whitespace handling, while a reference
    // reads back as the character itself. C0 controls other than TAB, LF and CR are not XML 1.0
    // characters at all; lenient parsers decode their references, and clients that need strict
    // XML ask for encoding-type=url (botocore always does).
    default: return `&#x${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase()};`;
  }
}

/** Text escaped for XML element content. */
export function escapeXml(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPABLE, escapeChar) : text;
}

/** `<name>escaped text</name>`. */
export function element(name: string, text: string | number | boolean): string {
  return `<${name}>${typeof text === 'string' ? escapeXml(text) : String(text)}</${name}>`;
}

/** `<name>` … `</name>` only when text is defined. */
export function optionalElement(name: string, text: string | number | undefined): string {
  return text === undefined ? '' : element(name, text);
}

export function ownerXml(tag: 'Owner' | 'Initiator', owner: Owner): string {
  return `<${tag}>${element('ID', owner.id)}${element('DisplayName', owner.displayName)}</${tag}>`;
}

/**
 * `encoding-type=url`: UTF-8 bytes percent-encoded (upper-case hex) except A–Z a–z 0–9 `-_.*`
 * and `/`. A space is `%20`, never `+`: that reads back as a space with either decoding a client
 * may use (botocore's unquote_plus, or a plain percent-decoding that keeps `+`), while a literal
 * `+` in a key is `%2B`.
 */
export function s3UrlEncode(text: string): string {
  if (/^[A-Za-z0-9\-_.*/]*$/.test(text)) return text;
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

/** Applies `encoding-type` to a key-like value. */
export function encodeName(text: string, encodingType: 'url' | undefined): string {
  return encodingType === 'url' ? s3UrlEncode(text) : text;
}
