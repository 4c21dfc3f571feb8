/**
 * The pieces of a SigV4 canonical request that come from the URL and the headers, built the way
 * AWS builds them. This runs on every request, so it scans strings by hand instead of using
 * regular expressions, and returns its input unchanged whenever it is already canonical.
 */

/** RFC 3986 unreserved characters: A-Z a-z 0-9 - . _ ~ */
const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || '-._~'.includes(ch)) {
    UNRESERVED[c] = 1;
  }
}

export interface SplitUrl {
  /** The path exactly as sent (S3 signs it without re-encoding or normalising). */
  path: string;
  /** Everything after the first '?', still percent-encoded. */
  query: string;
}

export function splitRawUrl(rawUrl: string): SplitUrl {
  let start = 0;
  // An absolute-form request target (from proxies) carries scheme and authority before the path.
  if (rawUrl.charCodeAt(0) !== 47 /* / */) {
    const scheme = rawUrl.indexOf('://');
    if (scheme !== -1) {
      start = rawUrl.length;
      for (let i = scheme + 3; i < rawUrl.length; i++) {
        const c = rawUrl.charCodeAt(i);
        if (c === 47 /* / */ || c === 63 /* ? */) {
          start = i;
          break;
        }
      }
    }
  }
  const q = rawUrl.indexOf('?', start);
  const path = q === -1 ? rawUrl.slice(start) : rawUrl.slice(start, q);
  return { path: path === '' ? '/' : path, query: q === -1 ? '' : rawUrl.slice(q + 1) };
}

/** One query parameter as received: both parts still percent-encoded. */
export interface RawParam {
  key: string;
  value: string;
}

export function parseRawQuery(query: string): RawParam[] {
  const params: RawParam[] = [];
  if (query === '') return params;
  let i = 0;
  while (i <= query.length) {
    let end = query.indexOf('&', i);
    if (end === -1) end = query.length;
    if (end > i) {
      const eq = query.indexOf('=', i);
      if (eq === -1 || eq > end) params.push({ key: query.slice(i, end), value: '' });
      else params.push({ key: query.slice(i, eq), value: query.slice(eq + 1, end) });
    }
    i = end + 1;
  }
  return params;
}

/**
 * Decodes one query component. '+' means a space (form encoding, as URLSearchParams reads it).
 * A malformed escape is kept literally, so it is re-encoded as %25 and the signature decides.
 */
export function decodeQueryComponent(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  const spaced = raw.indexOf('+') === -1 ? raw : raw.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** SigV4 UriEncode: everything but the unreserved set as %XY (upper-case hex) of its UTF-8 bytes. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function isCanonical(component: string): boolean {
  for (let i = 0; i < component.length; i++) {
    const c = component.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] !== 1) return false;
  }
  return true;
}

function canonicalComponent(raw: string): string {
  return isCanonical(raw) ? raw : uriEncode(decodeQueryComponent(raw));
}

/**
 * CanonicalQueryString: every parameter decoded and re-encoded with UriEncode, sorted by name
 * then value, `name=value` joined with '&'. `omitKey` (X-Amz-Signature for presigned URLs) is left out.
 */
export function canonicalQueryString(params: readonly RawParam[], omitKey?: string): string {
  if (params.length === 0) return '';
  const pairs: [string, string][] = [];
  for (const p of params) {
    const key = canonicalComponent(p.key);
    if (key === omitKey) continue;
    pairs.push([key, canonicalComponent(p.value)]);
  }
  if (pairs.length > 1) {
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] as [string, string];
    out += (i === 0 ? '' : '&') + pair[0] + '=' + pair[1];
  }
  return out;
}

function needsTrimAll(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  if (value.charCodeAt(0) === 32 || value.charCodeAt(n - 1) === 32) return true;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 9 || c === 10 || c === 13) return true;
    if (c === 32 && i + 1 < n && value.charCodeAt(i + 1) === 32) return true;
  }
  return false;
}

/** Trimall, as AWS SDKs apply it: CR/LF to space, runs of spaces and tabs to one space, trimmed. */
function trimAll(value: string): string {
  if (!needsTrimAll(value)) return value;
  return value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** Canonical header value; repeated headers (arrays) are joined with ','. */
export function canonicalHeaderValue(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return trimAll(value);
  let out = '';
  for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + trimAll(value[i] as string);
  return out;
}

/** The first value of a header, or undefined. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}
