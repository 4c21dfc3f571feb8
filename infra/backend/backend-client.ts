import type { IncomingHttpHeaders } from 'node:http';
import { errorCatalogue, type ErrorCode } from '../../domain/errors.js';
import { ControlPlane } from './control-plane.js';
import { BackendHttpError } from './errors.js';
import { HttpTransport } from './http-transport.js';
import { EMPTY_BODY_SHA256, UNSIGNED_PAYLOAD, sha256Hex } from './request-signer.js';
import { decodeMetadataValue, encodeMetadataValue, unquoteEtag } from './s3-encoding.js';
import { buildCompleteMultipartUpload, parseCompleteMultipartUpload, parseInitiateMultipartUpload } from './s3-xml.js';
import type {
  AbortMultipartResult, BackendClientOptions, BackendConnection, BackendOp, CompletedPart, CreateMultipartUploadOptions,
  GetObjectOptions, GetObjectResult, HeadObjectResult, ListedObject, ListObjectsOptions, MultipartUploadListing,
  ObjectBody, PutObjectOptions, PutResult, UploadPartOptions,
} from './types.js';

const is2xx = (status: number): boolean => status >= 200 && status < 300;

/**
 * The orchestrator's client for one S3-compatible backend bucket. Object data (PUT, GET, HEAD,
 * DELETE, the multipart calls) goes through undici; listing, server-side copy and
 * ListMultipartUploads through the AWS SDK (see `ControlPlane`). Errors are typed
 * (`BackendNotFoundError`, `BackendHttpError`, `BackendUnavailableError`); a caller's own abort or
 * broken upload stream is rethrown as is.
 */
export class BackendClient {
  readonly name: string;
  readonly bucket: string;
  readonly #unsignedPayload: boolean;
  readonly #http: HttpTransport;
  readonly #control: ControlPlane;

  constructor(connection: BackendConnection, options: BackendClientOptions = {}) {
    if (!Number.isFinite(connection.timeoutMs) || connection.timeoutMs <= 0) {
      throw new TypeError(`backend ${connection.name}: timeoutMs must be a positive number`);
    }
    this.name = connection.name;
    this.bucket = connection.bucket;
    this.#unsignedPayload = connection.unsignedPayload !== false;
    this.#http = new HttpTransport(connection, options.onCall);
    this.#control = new ControlPlane(connection, options.onCall);
  }

  async putObject(key: string, body: ObjectBody, options: PutObjectOptions): Promise<PutResult> {
    checkBody(body, options.contentLength);
    const res = await this.#http.send({
      op: 'PutObject', method: 'PUT', key, body, contentLength: options.contentLength,
      headers: objectHeaders(options.contentType, options.metadata, options.contentMd5Base64),
      payloadHash: this.#payloadHash(body, options.payloadSha256Hex),
      signal: options.signal,
    }, is2xx);
    if (!is2xx(res.status)) throw this.#http.httpError('PutObject', res);
    return { etag: etagOf(res.headers) };
  }

  /**
   * Streams the object; a 404 throws `BackendNotFoundError`. With a range the result is always the
   * exact range (206), even from a backend that sends more. Consume or destroy `body`.
   */
  async getObject(key: string, options: GetObjectOptions = {}): Promise<GetObjectResult> {
    const headers: Record<string, string> = {};
    if (options.range) headers.range = rangeHeader(options.range.start, options.range.end);
    return this.#http.open({
      op: 'GetObject', method: 'GET', key, headers, payloadHash: EMPTY_BODY_SHA256, signal: options.signal,
    }, options.range, options.wholeUpTo);
  }

  /** Undefined when the object does not exist. */
  async headObject(key: string): Promise<HeadObjectResult | undefined> {
    const res = await this.#http.send({ op: 'HeadObject', method: 'HEAD', key, payloadHash: EMPTY_BODY_SHA256 }, is2xx);
    if (res.status === 404) return undefined;
    if (!is2xx(res.status)) throw this.#http.httpError('HeadObject', res);
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = decodeMetadataValue(value);
    }
    const lastModified = res.headers['last-modified'];
    return {
      contentLength: Number(res.headers['content-length'] ?? 0),
      etag: etagOf(res.headers),
      lastModified: lastModified ? new Date(lastModified) : new Date(0),
      contentType: res.headers['content-type'],
      metadata,
    };
  }

  /** Idempotent: an object that is already gone is a success. */
  async deleteObject(key: string): Promise<void> {
    const res = await this.#http.send(
      { op: 'DeleteObject', method: 'DELETE', key, payloadHash: EMPTY_BODY_SHA256 },
      (status) => is2xx(status) || status === 404,
    );
    if (is2xx(res.status)) return;
    const error = this.#http.httpError('DeleteObject', res);
    if (error.status === 404 && error.code !== 'NoSuchBucket') return;
    throw error;
  }

  async createMultipartUpload(key: string, options: CreateMultipartUploadOptions = {}): Promise<string> {
    const res = await this.#http.send({
      op: 'CreateMultipartUpload', method: 'POST', key, query: { uploads: '' },
      headers: objectHeaders(options.contentType, options.metadata, undefined),
      payloadHash: EMPTY_BODY_SHA256,
    }, is2xx);
    if (!is2xx(res.status)) throw this.#http.httpError('CreateMultipartUpload', res);
    const uploadId = parseInitiateMultipartUpload(res.text);
    if (uploadId === undefined) throw this.#malformed('CreateMultipartUpload', res.status);
    return uploadId;
  }

  async uploadPart(
    key: string, uploadId: string, partNumber: number, body: ObjectBody, contentLength: number, options: UploadPartOptions = {},
  ): Promise<PutResult> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new TypeError(`partNumber must be an integer from 1 to 10000, got ${partNumber}`);
    }
    checkBody(body, contentLength);
    const headers: Record<string, string> = {};
    if (options.contentMd5Base64 !== undefined) headers['content-md5'] = options.contentMd5Base64;
    const res = await this.#http.send({
      op: 'UploadPart', method: 'PUT', key, query: { partNumber: String(partNumber), uploadId }, headers, body, contentLength,
      payloadHash: this.#payloadHash(body, options.payloadSha256Hex), signal: options.signal,
    }, is2xx);
    if (!is2xx(res.status)) throw this.#http.httpError('UploadPart', res);
    return { etag: etagOf(res.headers) };
  }

  /** Parts are sent in ascending part-number order whatever order they are given in. */
  async completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<PutResult> {
    const xml = Buffer.from(buildCompleteMultipartUpload([...parts].sort((a, b) => a.partNumber - b.partNumber)), 'utf8');
    const res = await this.#http.send({
      op: 'CompleteMultipartUpload', method: 'POST', key, query: { uploadId },
      headers: { 'content-type': 'application/xml' }, body: xml, payloadHash: sha256Hex(xml),
    }, is2xx);
    if (!is2xx(res.status)) throw this.#http.httpError('CompleteMultipartUpload', res);
    const outcome = parseCompleteMultipartUpload(res.text);
    if (outcome === undefined) throw this.#malformed('CompleteMultipartUpload', res.status);
    if ('error' in outcome) {
      // S3 may answer 200 and report the failure in the body; give it the status its code implies.
      const { code, message } = outcome.error;
      const status = code !== undefined && code in errorCatalogue ? errorCatalogue[code as ErrorCode].status : 500;
      throw new BackendHttpError(this.name, 'CompleteMultipartUpload', status, code, message);
    }
    const etag = unquoteEtag(outcome.etag);
    if (etag !== '') return { etag };
    // Ceph RGW (16–18) answers an empty <ETag> here; the assembled object's HEAD has it.
    const head = await this.headObject(key);
    if (head === undefined) {
      throw new BackendHttpError(this.name, 'CompleteMultipartUpload', res.status, 'MalformedResponse', 'Complete answered no ETag and the object is not there');
    }
    return { etag: head.etag };
  }

  /** Never throws for an upload that is gone (404) or a backend that cannot abort (405/501). */
  async abortMultipartUpload(key: string, uploadId: string): Promise<AbortMultipartResult> {
    const tolerated = (status: number): boolean => status === 404 || status === 405 || status === 501;
    const res = await this.#http.send({
      op: 'AbortMultipartUpload', method: 'DELETE', key, query: { uploadId }, payloadHash: EMPTY_BODY_SHA256,
    }, (status) => is2xx(status) || tolerated(status));
    if (is2xx(res.status)) return { confirmed: true };
    if (tolerated(res.status)) return { confirmed: false, status: res.status };
    throw this.#http.httpError('AbortMultipartUpload', res);
  }

  /** Every object under `prefix`, in key order, fetched page by page. */
  listObjects(prefix: string, options: ListObjectsOptions = {}): AsyncIterable<ListedObject> {
    return this.#control.listObjects(prefix, options);
  }

  /** Server-side copy within this backend's bucket (metadata copied). */
  copyObject(sourceKey: string, destinationKey: string): Promise<PutResult> {
    return this.#control.copyObject(sourceKey, destinationKey);
  }

  listMultipartUploads(prefix: string): Promise<MultipartUploadListing> {
    return this.#control.listMultipartUploads(prefix);
  }

  async close(): Promise<void> {
    this.#control.close();
    await this.#http.close();
  }

  #payloadHash(body: ObjectBody, given: string | undefined): string {
    if (given !== undefined) return given;
    if (this.#unsignedPayload) return UNSIGNED_PAYLOAD;
    if (Buffer.isBuffer(body)) return sha256Hex(body);
    throw new TypeError(`backend ${this.name}: unsignedPayload is false, so a stream body needs payloadSha256Hex`);
  }

  #malformed(op: BackendOp, status: number): BackendHttpError {
    return new BackendHttpError(this.name, op, status, 'MalformedResponse', 'the response body is not the expected S3 XML');
  }
}

function checkBody(body: ObjectBody, contentLength: number): void {
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
    throw new TypeError(`contentLength must be a non-negative integer, got ${contentLength}`);
  }
  if (Buffer.isBuffer(body) && body.length !== contentLength) {
    throw new TypeError(`contentLength ${contentLength} does not match the ${body.length}-byte body`);
  }
}

function objectHeaders(
  contentType: string | undefined, metadata: Record<string, string> | undefined, contentMd5Base64: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (contentMd5Base64 !== undefined) headers['content-md5'] = contentMd5Base64;
  for (const [name, value] of Object.entries(metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = encodeMetadataValue(value);
  return headers;
}

function rangeHeader(start: number, end: number): string {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new TypeError(`range must satisfy 0 <= start <= end, got ${start}-${end}`);
  }
  return `bytes=${start}-${end}`;
}

const etagOf = (headers: IncomingHttpHeaders): string => {
  const etag = headers.etag;
  return typeof etag === 'string' ? unquoteEtag(etag) : '';
};
