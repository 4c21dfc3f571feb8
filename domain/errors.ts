/**
 * The one error catalogue: every failure the system reports to a client has a code here,
 * with its S3 error code and HTTP status. Domain code throws `DomainError`; the S3 gateway
 * renders it as S3 XML, the admin API as JSON, both with the status from this table. The S3
 * code is the catalogue code unless an entry names another (`s3Code`): two failures S3
 * clients must see under one code can still differ in status.
 */
interface CatalogueEntry {
  readonly status: number;
  readonly message: string;
  /** The code S3 clients see, when it is not the catalogue code. */
  readonly s3Code?: string;
}

export const errorCatalogue = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  // A refused CORS preflight (OPTIONS): S3's codes for it.
  AccessForbidden: { status: 403, message: 'CORSResponse: This CORS request is not allowed.' },
  BadRequest: { status: 400, message: 'Bad Request' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS access key ID you provided does not exist in our records.' },
  SignatureDoesNotMatch: { status: 403, message: 'The request signature we calculated does not match the signature you provided.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the current time is too large.' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: { status: 400, message: 'The authorization query parameters are malformed.' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  XAmzContentSHA256Mismatch: { status: 400, message: 'The provided x-amz-content-sha256 header does not match what was computed.' },
  InvalidChecksum: { status: 400, message: 'The checksum you specified did not match what we received.' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestTimeout: { status: 400, message: 'Your socket connection to the server was not read from or written to within the timeout period.' },
  InvalidChunkSizeError: { status: 400, message: 'Only the last chunk is allowed to have a size less than 8192 bytes.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  InvalidPart: { status: 400, message: 'One or more of the specified parts could not be found or the ETag did not match.' },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order.' },
  InvalidPartNumber: { status: 400, message: 'The requested partnumber is not satisfiable' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: { status: 404, message: 'The specified multipart upload does not exist.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  BucketAlreadyOwnedByYou: { status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty.' },
  OperationAborted: { status: 409, message: 'A conflicting operation is currently in progress against this resource. Please try again.' },
  PreconditionFailed: { status: 412, message: 'At least one of the preconditions you specified did not hold.' },
  NotModified: { status: 304, message: 'Not Modified' },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  // The per-client rate limit answers 429 as the original does; S3 SDKs retry SlowDown and 429 alike.
  RateLimitExceeded: { status: 429, s3Code: 'SlowDown', message: 'Rate limit exceeded; please reduce your request rate.' },
  ServiceUnavailable: { status: 503, message: 'The service is unavailable. Please retry.' },
  InsufficientStorage: { status: 507, message: 'No backend has room for this object.' },
  UsageLimitExceeded: { status: 429, message: 'Every copy of this object is on a backend over its monthly usage limit.' },
  NotImplemented: { status: 501, message: 'A header or query you provided implies functionality that is not implemented.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  BadGateway: { status: 502, message: 'A storage backend failed to answer.' },
  // Encryption at rest: the stored object's data key or ciphertext cannot be used.
  EncryptionKeyUnknown: { status: 500, s3Code: 'KMS.NotFoundException', message: "The master key that wrapped this object's data key is not configured." },
  EncryptionKeyUnavailable: { status: 503, s3Code: 'ServiceUnavailable', message: 'The key service could not wrap or unwrap a data key now; please retry.' },
  EncryptionNotConfigured: { status: 500, s3Code: 'InternalError', message: 'This object is encrypted and no encryption key is configured.' },
  CiphertextDamaged: { status: 500, s3Code: 'InternalError', message: 'No copy of this object passed decryption: every copy read is damaged.' },
  // Admin-side codes (rendered as JSON by the admin API).
  Unauthorized: { status: 401, message: 'unauthorized' },
  NotFound: { status: 404, message: 'not found' },
  Conflict: { status: 409, message: 'conflict' },
  ValidationFailed: { status: 400, message: 'validation failed' },
  PayloadTooLarge: { status: 413, message: 'the request body is too large' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** The `<Code>` of the S3 error document. */
  readonly s3Code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? errorCatalogue[code].message);
    this.name = 'DomainError';
    const entry: CatalogueEntry = errorCatalogue[code];
    this.code = code;
    this.s3Code = entry.s3Code ?? code;
    this.status = entry.status;
    this.details = details;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
