import { quoteEtag } from '../../../domain/s3/etag.js';
import type { EncodingType } from '../../../domain/s3/listing-params.js';
import { XML_DECLARATION, S3_NAMESPACE, element, encodeName, optionalElement, ownerXml, type Owner } from './common.js';
import { formatIsoTimestamp } from './dates.js';

export function buildInitiateMultipartUploadResultXml(input: { bucket: string; key: string; uploadId: string }): string {
  return (
    `${XML_DECLARATION}<InitiateMultipartUploadResult xmlns="${S3_NAMESPACE}">` +
    element('Bucket', input.bucket) +
    element('Key', input.key) +
    element('UploadId', input.uploadId) +
    '</InitiateMultipartUploadResult>'
  );
}

export function buildCompleteMultipartUploadResultXml(input: { location: string; bucket: string; key: string; etag: string }): string {
  return (
    `${XML_DECLARATION}<CompleteMultipartUploadResult xmlns="${S3_NAMESPACE}">` +
    element('Location', input.location) +
    element('Bucket', input.bucket) +
    element('Key', input.key) +
    element('ETag', quoteEtag(input.etag)) +
    '</CompleteMultipartUploadResult>'
  );
}

export interface PartEntry {
  partNumber: number;
  lastModifiedMs: number;
  etag: string;
  size: number;
}

export interface ListPartsXmlInput {
  bucket: string;
  key: string;
  uploadId: string;
  initiator: Owner;
  owner: Owner;
  storageClass: string;
  partNumberMarker: number;
  /** The last part number listed; written when the page is truncated. */
  nextPartNumberMarker: number | undefined;
  maxParts: number;
  isTruncated: boolean;
  parts: readonly PartEntry[];
}

export function buildListPartsResultXml(input: ListPartsXmlInput): string {
  let parts = '';
  for (const p of input.parts) {
    parts +=
      `<Part>${element('PartNumber', p.partNumber)}${element('LastModified', formatIsoTimestamp(p.lastModifiedMs))}` +
      `${element('ETag', quoteEtag(p.etag))}${element('Size', p.size)}</Part>`;
  }
  return (
    `${XML_DECLARATION}<ListPartsResult xmlns="${S3_NAMESPACE}">` +
    element('Bucket', input.bucket) +
    element('Key', input.key) +
    element('UploadId', input.uploadId) +
    ownerXml('Initiator', input.initiator) +
    ownerXml('Owner', input.owner) +
    element('StorageClass', input.storageClass) +
    element('PartNumberMarker', input.partNumberMarker) +
    optionalElement('NextPartNumberMarker', input.nextPartNumberMarker) +
    element('MaxParts', input.maxParts) +
    element('IsTruncated', input.isTruncated) +
    parts +
    '</ListPartsResult>'
  );
}

export interface UploadEntry {
  key: string;
  uploadId: string;
  initiator: Owner;
  owner: Owner;
  storageClass: string;
  initiatedMs: number;
}

export interface ListMultipartUploadsXmlInput {
  bucket: string;
  keyMarker: string;
  uploadIdMarker: string;
  nextKeyMarker: string | undefined;
  nextUploadIdMarker: string | undefined;
  prefix: string;
  /** '' when none was given. */
  delimiter: string;
  maxUploads: number;
  encodingType: EncodingType | undefined;
  isTruncated: boolean;
  uploads: readonly UploadEntry[];
  commonPrefixes: readonly string[];
}

/**
 * `ListMultipartUploadsResult`. With encoding-type=url, KeyMarker, NextKeyMarker, Prefix,
 * Delimiter, Key and CommonPrefixes/Prefix are URL-encoded, as S3 does.
 */
export function buildListMultipartUploadsResultXml(input: ListMultipartUploadsXmlInput): string {
  const enc = input.encodingType;
  let uploads = '';
  for (const u of input.uploads) {
    uploads +=
      `<Upload>${element('Key', encodeName(u.key, enc))}${element('UploadId', u.uploadId)}` +
      `${ownerXml('Initiator', u.initiator)}${ownerXml('Owner', u.owner)}${element('StorageClass', u.storageClass)}` +
      `${element('Initiated', formatIsoTimestamp(u.initiatedMs))}</Upload>`;
  }
  let prefixes = '';
  for (const p of input.commonPrefixes) prefixes += `<CommonPrefixes>${element('Prefix', encodeName(p, enc))}</CommonPrefixes>`;
  return (
    `${XML_DECLARATION}<ListMultipartUploadsResult xmlns="${S3_NAMESPACE}">` +
    element('Bucket', input.bucket) +
    element('KeyMarker', encodeName(input.keyMarker, enc)) +
    element('UploadIdMarker', input.uploadIdMarker) +
    optionalElement('NextKeyMarker', input.nextKeyMarker === undefined ? undefined : encodeName(input.nextKeyMarker, enc)) +
    optionalElement('NextUploadIdMarker', input.nextUploadIdMarker) +
    (input.delimiter === '' ? '' : element('Delimiter', encodeName(input.delimiter, enc))) +
    element('Prefix', encodeName(input.prefix, enc)) +
    element('MaxUploads', input.maxUploads) +
    optionalElement('EncodingType', enc) +
    element('IsTruncated', input.isTruncated) +
    uploads +
    prefixes +
    '</ListMultipartUploadsResult>'
  );
}
