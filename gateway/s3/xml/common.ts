/** Shared pieces of the S3 response XML: prologue, namespace, escaping. */

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface Owner {
  id: string;
  displayName: string;
}

// Matching control characters is the point of these two.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\u0085\u2028]/;
// eslint-disable-next-line no-control-regex
const ESCAPABLE = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\u0085\u2028]/g;

function escapeChar(ch: string): string {
  switch (ch) {
    case '&': return '&amp;';
    case '<': return '&lt;';
    case '>': return '&gt;';
    case '"': return '&quot;';
    case "'": return '&apos;';
    // Parsers normalise a raw CR (and, in XML 1.1 readers such as the AWS SDK's, U+0085 and
    // U+2028) to LF, so they travel as character references to round-trip. Other C0 controls
    // are not XML 1.0 characters at all; like S3 we still send them as references (lenient
    // parsers decode them), and clients that need strict XML ask for encoding-type=url.
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
 * `encoding-type=url` as S3 applies it: UTF-8 bytes percent-encoded (upper-case hex) except
 * A–Z a–z 0–9 `-_.*` and `/`, space as `+` (Go's QueryEscape with S3's exceptions, as MinIO
 * implements it against AWS). Clients decode it with unquote_plus semantics.
 */
export function s3UrlEncode(text: string): string {
  if (/^[A-Za-z0-9\-_.*/]*$/.test(text)) return text;
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+');
}

/** Applies `encoding-type` to a key-like value. */
export function encodeName(text: string, encodingType: 'url' | undefined): string {
  return encodingType === 'url' ? s3UrlEncode(text) : text;
}
