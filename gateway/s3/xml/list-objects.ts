import { unquoteEtag } from '../../../domain/s3/etag.js';
import type { ListingRow } from '../../../domain/s3/listing.js';
import type { EncodingType } from '../../../domain/s3/listing-params.js';
import { XML_DECLARATION, S3_NAMESPACE, element, encodeName, escapeXml, optionalElement, ownerXml, type Owner } from './common.js';
import { formatIsoTimestamp } from './dates.js';

interface ListObjectsXmlCommon {
  bucket: string;
  prefix: string;
  /** '' when none was given; then no Delimiter element. */
  delimiter: string;
  /** The max-keys value to echo. */
  maxKeys: number;
  encodingType: EncodingType | undefined;
  isTruncated: boolean;
  contents: readonly ListingRow[];
  commonPrefixes: readonly string[];
}

export interface ListObjectsV1XmlInput extends ListObjectsXmlCommon {
  marker: string;
  /** The last entry returned; written as NextMarker only when truncated and delimited, as S3 does. */
  nextMarker: string | undefined;
  /** V1 always lists owners. */
  owner: Owner;
}

export interface ListObjectsV2XmlInput extends ListObjectsXmlCommon {
  continuationToken: string | undefined;
  /** Written when defined; the caller sets it only for a truncated page. */
  nextContinuationToken: string | undefined;
  startAfter: string | undefined;
  /** Only with fetch-owner=true. */
  owner: Owner | undefined;
}

/** Rows as one string; one template per row joined once keeps V8 from building a deep rope. */
function contentsXml(rows: readonly ListingRow[], owner: Owner | undefined, encodingType: EncodingType | undefined): string {
  const ownerPart = owner === undefined ? '' : ownerXml('Owner', owner);
  const parts: string[] = [];
  for (const row of rows) {
    parts.push(
      `<Contents><Key>${escapeXml(encodeName(row.key, encodingType))}</Key>` +
        `<LastModified>${formatIsoTimestamp(row.lastModifiedMs)}</LastModified>` +
        `<ETag>&quot;${escapeXml(unquoteEtag(row.etag))}&quot;</ETag><Size>${row.size}</Size>${ownerPart}` +
        `<StorageClass>${escapeXml(row.storageClass)}</StorageClass></Contents>`,
    );
  }
  return parts.join('');
}

function commonPrefixesXml(prefixes: readonly string[], encodingType: EncodingType | undefined): string {
  const parts: string[] = [];
  for (const p of prefixes) parts.push(`<CommonPrefixes><Prefix>${escapeXml(encodeName(p, encodingType))}</Prefix></CommonPrefixes>`);
  return parts.join('');
}

/**
 * ListObjects (v1) `ListBucketResult`. With encoding-type=url, Prefix, Delimiter, Marker,
 * NextMarker, Key and CommonPrefixes/Prefix are URL-encoded, as S3 does.
 */
export function buildListObjectsV1Xml(input: ListObjectsV1XmlInput): string {
  const enc = input.encodingType;
  const nextMarker = input.isTruncated && input.delimiter !== '' ? input.nextMarker : undefined;
  return (
    `${XML_DECLARATION}<ListBucketResult xmlns="${S3_NAMESPACE}">` +
    element('Name', input.bucket) +
    element('Prefix', encodeName(input.prefix, enc)) +
    element('Marker', encodeName(input.marker, enc)) +
    optionalElement('NextMarker', nextMarker === undefined ? undefined : encodeName(nextMarker, enc)) +
    element('MaxKeys', input.maxKeys) +
    (input.delimiter === '' ? '' : element('Delimiter', encodeName(input.delimiter, enc))) +
    optionalElement('EncodingType', enc) +
    element('IsTruncated', input.isTruncated) +
    contentsXml(input.contents, input.owner, enc) +
    commonPrefixesXml(input.commonPrefixes, enc) +
    '</ListBucketResult>'
  );
}

/**
 * ListObjectsV2 `ListBucketResult`. With encoding-type=url, Prefix, Delimiter, StartAfter, Key
 * and CommonPrefixes/Prefix are URL-encoded; continuation tokens are opaque and never are.
 * KeyCount counts keys and common prefixes.
 */
export function buildListObjectsV2Xml(input: ListObjectsV2XmlInput): string {
  const enc = input.encodingType;
  return (
    `${XML_DECLARATION}<ListBucketResult xmlns="${S3_NAMESPACE}">` +
    element('Name', input.bucket) +
    element('Prefix', encodeName(input.prefix, enc)) +
    optionalElement('ContinuationToken', input.continuationToken) +
    optionalElement('NextContinuationToken', input.nextContinuationToken) +
    optionalElement('StartAfter', input.startAfter === undefined ? undefined : encodeName(input.startAfter, enc)) +
    element('KeyCount', input.contents.length + input.commonPrefixes.length) +
    element('MaxKeys', input.maxKeys) +
    (input.delimiter === '' ? '' : element('Delimiter', encodeName(input.delimiter, enc))) +
    optionalElement('EncodingType', enc) +
    element('IsTruncated', input.isTruncated) +
    contentsXml(input.contents, input.owner, enc) +
    commonPrefixesXml(input.commonPrefixes, enc) +
    '</ListBucketResult>'
  );
}
