/** Shapes shared by the request authenticators and their callers. */

/** Header map as Node gives it (`req.headers` or, better, `req.headersDistinct`): lower-cased names. */
export type HeaderMap = Record<string, string | string[] | undefined>;

export interface SigV4Credential {
  secretAccessKey: string;
  bucket: string;
}

export interface ProxyToken {
  token: string;
  bucket: string;
  tokenId: string;
}

/**
 * Read-only view of the configured credentials. It is consulted on every request, so it must be
 * cheap; it may change at runtime (reload), in which case the caller also clears the
 * `SigningKeyCache`.
 */
export interface CredentialLookup {
  bySigV4(accessKeyId: string): SigV4Credential | undefined;
  /** Every configured legacy token: the authenticator compares against all of them in constant time. */
  tokens(): Iterable<ProxyToken>;
}

export interface AuthRequest {
  method: string;
  /** Path and query exactly as received (`req.url`). */
  rawUrl: string;
  /**
   * Request headers with lower-case names. Repeated headers should be arrays (`req.headersDistinct`):
   * Node's `req.headers` joins them with ", " where SigV4 joins with ",".
   */
  headers: HeaderMap;
  nowMs: number;
}

export interface Principal {
  /** The SigV4 access key id, or `token:<tokenId>` for a legacy token. */
  accessKeyId: string;
  /** The bucket this credential may use; the caller checks it against the request's bucket. */
  bucket: string;
}

export type PayloadMode =
  /** UNSIGNED-PAYLOAD; also presigned URLs and legacy tokens that declare nothing. */
  | { kind: 'unsigned' }
  /** The plain body must hash to this SHA-256. */
  | { kind: 'sha256'; expectedHex: string }
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: aws-chunked, every chunk signed. */
  | {
    kind: 'streaming-signed';
    trailer: boolean;
    seedSignature: string;
    signingKey: Buffer;
    scope: string;
    amzDate: string;
  }
  /** STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked with an unsigned trailer. */
  | { kind: 'streaming-unsigned-trailer' };

export interface AuthResult {
  principal: Principal;
  payload: PayloadMode;
}
