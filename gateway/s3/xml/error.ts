import { XML_DECLARATION, element } from './common.js';

export interface ErrorXmlInput {
  code: string;
  message: string;
  /** Extra S3 error fields in the order given (`Key`, `BucketName`, `UploadId`, `ArgumentName`…). */
  fields?: Readonly<Record<string, string | number | undefined>>;
  resource?: string;
  requestId?: string;
}

/**
 * `<Error><Code/><Message/>…extra fields…<Resource/><RequestId/></Error>`, the S3 error body.
 * DomainError details from domain/s3 are keyed by S3 element names so they can be passed as
 * `fields` directly; values that are not strings or numbers are left out.
 */
export function buildErrorXml(input: ErrorXmlInput): string {
  let xml = `${XML_DECLARATION}<Error>${element('Code', input.code)}${element('Message', input.message)}`;
  for (const [name, value] of Object.entries(input.fields ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') xml += element(name, value);
  }
  if (input.resource !== undefined) xml += element('Resource', input.resource);
  if (input.requestId !== undefined) xml += element('RequestId', input.requestId);
  return `${xml}</Error>`;
}
