import { DomainError } from '../../domain/errors.js';

export type S3Operation =
  | 'ListBuckets' | 'HeadBucket' | 'GetBucketLocation' | 'GetBucketVersioning' | 'CreateBucket' | 'DeleteBucket'
  | 'ListObjectsV1' | 'ListObjectsV2' | 'ListMultipartUploads' | 'DeleteObjects'
  | 'GetObject' | 'HeadObject' | 'PutObject' | 'CopyObject' | 'DeleteObject'
  | 'CreateMultipartUpload' | 'UploadPart' | 'UploadPartCopy' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts'
  | 'GetObjectTagging';

/** S3 sub-resources we do not implement: they answer 501, never a wrong success. */
const unsupportedSubresources = new Set([
  'acl', 'cors', 'policy', 'policyStatus', 'tagging', 'lifecycle', 'website', 'encryption', 'replication', 'logging',
  'notification', 'accelerate', 'analytics', 'inventory', 'metrics', 'ownershipControls', 'publicAccessBlock',
  'requestPayment', 'restore', 'retention', 'legal-hold', 'object-lock', 'torrent', 'select', 'intelligent-tiering',
  'versions', 'attributes', 'versionId', 'renameObject', 'session',
]);

/**
 * Picks the S3 operation from method, path and query, the way S3 routes path-style requests.
 * `query` holds the parameter names present (values do not matter for routing).
 */
export function routeOperation(method: string, bucket: string | undefined, key: string | undefined, query: URLSearchParams, headers: Record<string, unknown>): S3Operation {
  const operation = routeByMethod(method, bucket, key, query, headers);
  // Tags are not stored, so writes that carry them are refused rather than losing them; that
  // keeps GetObjectTagging's empty tag set true.
  if (taggedWrites.has(operation) && typeof headers['x-amz-tagging'] === 'string' && headers['x-amz-tagging'] !== '') {
    throw new DomainError('NotImplemented', 'Object tagging is not implemented: the x-amz-tagging header cannot be honoured.');
  }
  return operation;
}

const taggedWrites: ReadonlySet<S3Operation> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']);

function routeByMethod(method: string, bucket: string | undefined, key: string | undefined, query: URLSearchParams, headers: Record<string, unknown>): S3Operation {
  for (const name of query.keys()) {
    // The AWS CLI reads an object's tags before every multipart copy (`s3 cp`/`mv`/`sync` between S3 paths).
    if (name === 'tagging' && method === 'GET' && key !== undefined) continue;
    if (unsupportedSubresources.has(name)) {
      // GET/HEAD with versionId=null is a plain read of the only version there is.
      if (name === 'versionId' && query.get('versionId') === 'null' && (method === 'GET' || method === 'HEAD')) continue;
      throw new DomainError('NotImplemented', `The ${name} sub-resource is not implemented.`);
    }
  }
  if (bucket === undefined) {
    if (method === 'GET') return 'ListBuckets';
    throw new DomainError('MethodNotAllowed');
  }
  if (key === undefined) {
    switch (method) {
      case 'GET':
        if (query.has('location')) return 'GetBucketLocation';
        if (query.has('versioning')) return 'GetBucketVersioning';
        if (query.has('uploads')) return 'ListMultipartUploads';
        return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjectsV1';
      case 'HEAD':
        return 'HeadBucket';
      case 'POST':
        if (query.has('delete')) return 'DeleteObjects';
        throw new DomainError('NotImplemented', 'POST object (browser form upload) is not implemented.');
      case 'PUT':
        if (query.has('versioning')) throw new DomainError('NotImplemented', 'Bucket versioning is not implemented.');
        return 'CreateBucket';
      case 'DELETE':
        return 'DeleteBucket';
      default:
        throw new DomainError('MethodNotAllowed');
    }
  }
  switch (method) {
    case 'GET':
      if (query.has('tagging')) return 'GetObjectTagging';
      return query.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return headers['x-amz-copy-source'] !== undefined ? 'UploadPartCopy' : 'UploadPart';
      return headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      throw new DomainError('NotImplemented', 'This POST on an object is not implemented.');
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      throw new DomainError('MethodNotAllowed');
  }
}

/** Operations whose request body is object data (read as a stream, verified while it flows). */
export const dataUploadOperations: ReadonlySet<S3Operation> = new Set(['PutObject', 'UploadPart']);
