import { DomainError } from '../errors.js';

/**
 * An MD5 digest function, hex output. Injected because domain/ imports no crypto module: the
 * gateway passes `(b) => createHash('md5').update(b).digest('hex')`.
 */
export type Md5Hex = (data: Uint8Array) => string;

const MD5_HEX = /^[0-9a-fA-F]{32}$/;

/** The opaque part of an entity tag: `"abc"`, `W/"abc"` and `abc` all give `abc`. */
export function unquoteEtag(etag: string): string {
  const s = etag.startsWith('W/') ? etag.slice(2) : etag;
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1);
  return s;
}

/** The ETag as S3 sends it, in double quotes; already-quoted values are left alone. */
export function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}

export function isMd5Hex(s: string): boolean {
  return MD5_HEX.test(s);
}

function hexToBytes(hex: string, into: Uint8Array, offset: number): void {
  for (let i = 0; i < hex.length; i += 2) into[offset + i / 2] = parseInt(hex.slice(i, i + 2), 16);
}

/**
 * The ETag S3 gives a multipart object: MD5 over the concatenated binary MD5s of its parts,
 * in hex, then `-N` for N parts. Returned unquoted. Part ETags may be quoted.
 */
export function multipartEtag(partEtags: readonly string[], md5: Md5Hex): string {
  const bytes = new Uint8Array(partEtags.length * 16);
  partEtags.forEach((etag, i) => {
    const hex = unquoteEtag(etag);
    if (!isMd5Hex(hex)) throw new DomainError('InternalError', `part ETag is not an MD5 digest: ${hex}`);
    hexToBytes(hex, bytes, i * 16);
  });
  return `${md5(bytes).toLowerCase()}-${partEtags.length}`;
}
