import { quoteEtag } from '../../../domain/s3/etag.js';
import { XML_DECLARATION, S3_NAMESPACE, element, optionalElement } from './common.js';
import { formatIsoTimestamp } from './dates.js';

export interface CopyResultInput {
  etag: string;
  lastModifiedMs: number;
}

function copyResult(root: 'CopyObjectResult' | 'CopyPartResult', input: CopyResultInput): string {
  return (
    `${XML_DECLARATION}<${root} xmlns="${S3_NAMESPACE}">` +
    element('LastModified', formatIsoTimestamp(input.lastModifiedMs)) +
    element('ETag', quoteEtag(input.etag)) +
    `</${root}>`
  );
}

export function buildCopyObjectResultXml(input: CopyResultInput): string {
  return copyResult('CopyObjectResult', input);
}

export function buildCopyPartResultXml(input: CopyResultInput): string {
  return copyResult('CopyPartResult', input);
}

export interface DeletedEntry {
  key: string;
  versionId?: string;
}

export interface DeleteErrorEntry {
  key: string;
  versionId?: string;
  code: string;
  message: string;
}

export interface DeleteResultInput {
  /** Quiet mode lists only the failures. */
  quiet: boolean;
  deleted: readonly DeletedEntry[];
  errors: readonly DeleteErrorEntry[];
}

/** DeleteObjects' `DeleteResult`: a `<Deleted>` per deleted key (not in quiet mode), an `<Error>` per failure. */
export function buildDeleteResultXml(input: DeleteResultInput): string {
  let xml = `${XML_DECLARATION}<DeleteResult xmlns="${S3_NAMESPACE}">`;
  if (!input.quiet) {
    for (const d of input.deleted) xml += `<Deleted>${element('Key', d.key)}${optionalElement('VersionId', d.versionId)}</Deleted>`;
  }
  for (const e of input.errors) {
    xml += `<Error>${element('Key', e.key)}${optionalElement('VersionId', e.versionId)}${element('Code', e.code)}${element('Message', e.message)}</Error>`;
  }
  return `${xml}</DeleteResult>`;
}
