import { performance } from 'node:perf_hooks';
import {
  CopyObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client,
} from '@aws-sdk/client-s3';
import { BackendHttpError, BackendNotFoundError, BackendUnavailableError, unavailableFrom } from './errors.js';
import { encodeKeyPath, unquoteEtag } from './s3-encoding.js';
import type {
  BackendCallHook, BackendCallOutcome, BackendConnection, BackendOp, ListedMultipartUpload, ListedObject,
  ListObjectsOptions, MultipartUploadListing, PutResult,
} from './types.js';

interface SdkErrorShape {
  name?: string;
  code?: unknown;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Listing, server-side copy and multipart bookkeeping through `@aws-sdk/client-s3`: ~0.5 ms CPU a
 * call, acceptable off the hot path. Created on first use. Checksums only when required, so the
 * SDK never switches a body to aws-chunked (which s3rver would store verbatim).
 */
export class ControlPlane {
  readonly #name: string;
  readonly #bucket: string;
  readonly #onCall: BackendCallHook | undefined;
  readonly #createClient: () => S3Client;
  #client: S3Client | undefined;

  constructor(connection: BackendConnection, onCall: BackendCallHook | undefined) {
    this.#name = connection.name;
    this.#bucket = connection.bucket;
    this.#onCall = onCall;
    // The credentials stay in this closure (and the SDK), never on an inspectable property.
    this.#createClient = () => new S3Client({
      region: connection.region,
      endpoint: connection.endpoint,
      forcePathStyle: connection.forcePathStyle,
      credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: connection.timeoutMs, socketTimeout: connection.timeoutMs },
    });
  }

  async *listObjects(prefix: string, options: ListObjectsOptions = {}): AsyncGenerator<ListedObject> {
    let continuationToken: string | undefined;
    do {
      const page = await this.#call('ListObjectsV2', (client) => client.send(new ListObjectsV2Command({
        Bucket: this.#bucket,
        Prefix: prefix,
        MaxKeys: options.maxKeys,
        ...(continuationToken === undefined ? { StartAfter: options.startAfter } : { ContinuationToken: continuationToken }),
      })));
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield {
          key: item.Key,
          size: item.Size ?? 0,
          etag: unquoteEtag(item.ETag ?? ''),
          lastModified: item.LastModified ?? new Date(0),
        };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async copyObject(sourceKey: string, destinationKey: string): Promise<PutResult> {
    const result = await this.#call('CopyObject', (client) => client.send(new CopyObjectCommand({
      Bucket: this.#bucket,
      Key: destinationKey,
      CopySource: `${encodeURIComponent(this.#bucket)}/${encodeKeyPath(sourceKey)}`,
    })));
    return { etag: unquoteEtag(result.CopyObjectResult?.ETag ?? '') };
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUploadListing> {
    const uploads: ListedMultipartUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.#call('ListMultipartUploads', (client) => client.send(new ListMultipartUploadsCommand({
          Bucket: this.#bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker,
        })));
        for (const u of page.Uploads ?? []) {
          if (u.Key !== undefined && u.UploadId !== undefined) uploads.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
        }
        const more = page.IsTruncated === true && page.NextKeyMarker !== undefined;
        keyMarker = more ? page.NextKeyMarker : undefined;
        uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (keyMarker !== undefined);
    } catch (e) {
      if (e instanceof BackendHttpError && (e.status === 501 || e.code === 'NotImplemented')) return { supported: false, uploads: [] };
      throw e;
    }
    return { supported: true, uploads };
  }

  close(): void {
    this.#client?.destroy();
    this.#client = undefined;
  }

  async #call<T>(op: BackendOp, run: (client: S3Client) => Promise<T>): Promise<T> {
    this.#client ??= this.#createClient();
    const started = performance.now();
    try {
      const result = await run(this.#client);
      this.#report(op, started, 'ok', 200);
      return result;
    } catch (e) {
      const error = this.#typed(op, e);
      const outcome: BackendCallOutcome = error instanceof BackendNotFoundError ? 'not_found'
        : error instanceof BackendHttpError ? 'http_error' : 'unavailable';
      this.#report(op, started, outcome, error instanceof BackendHttpError ? error.status : 0);
      throw error;
    }
  }

  #typed(op: BackendOp, e: unknown): Error {
    const sdk = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorShape;
    const status = sdk.$metadata?.httpStatusCode;
    if (status !== undefined && status >= 300) {
      const code = sdk.name && sdk.name !== 'Error' && sdk.name !== 'UnknownError' ? sdk.name : undefined;
      if (status === 404 && (code === undefined || code === 'NoSuchKey' || code === 'NoSuchUpload' || code === 'NotFound')) {
        return new BackendNotFoundError(this.#name, op, code, sdk.message);
      }
      return new BackendHttpError(this.#name, op, status, code, sdk.message);
    }
    return unavailableFrom(this.#name, op, e)
      ?? new BackendUnavailableError(this.#name, op, 'other', typeof sdk.code === 'string' ? sdk.code : undefined);
  }

  #report(op: BackendOp, started: number, outcome: BackendCallOutcome, status: number): void {
    this.#onCall?.(op, { ok: outcome === 'ok', outcome, status, bytesIn: 0, bytesOut: 0, durationMs: performance.now() - started });
  }
}
