import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { quoteEtag } from './s3-encoding.js';
import type { CompletedPart } from './types.js';

// Values stay strings: an ETag or UploadId that looks numeric must not become a number.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, removeNSPrefix: true });
const builder = new XMLBuilder({ ignoreAttributes: true });

type XmlNode = Record<string, unknown>;

const parse = (text: string): XmlNode | undefined => {
  // Real S3 may send whitespace before the document to keep a slow Complete alive.
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    const doc: unknown = parser.parse(trimmed);
    return typeof doc === 'object' && doc !== null ? (doc as XmlNode) : undefined;
  } catch {
    return undefined;
  }
};

const child = (node: unknown, name: string): unknown =>
  typeof node === 'object' && node !== null ? (node as XmlNode)[name] : undefined;

const text = (node: unknown, name: string): string | undefined => {
  const value = child(node, name);
  return typeof value === 'string' ? value : undefined;
};

export interface S3ErrorBody {
  code: string | undefined;
  message: string | undefined;
}

/** `<Error><Code/><Message/></Error>`, or undefined when the body is not an S3 error document. */
export function parseS3Error(body: string): S3ErrorBody | undefined {
  const error = child(parse(body), 'Error');
  if (error === undefined) return undefined;
  return { code: text(error, 'Code'), message: text(error, 'Message') };
}

export function parseInitiateMultipartUpload(body: string): string | undefined {
  return text(child(parse(body), 'InitiateMultipartUploadResult'), 'UploadId');
}

/** A Complete can answer 200 and still fail: the error is then the document's root. */
export type CompleteOutcome = { etag: string } | { error: S3ErrorBody } | undefined;

export function parseCompleteMultipartUpload(body: string): CompleteOutcome {
  const doc = parse(body);
  const error = child(doc, 'Error');
  if (error !== undefined) return { error: { code: text(error, 'Code'), message: text(error, 'Message') } };
  const etag = text(child(doc, 'CompleteMultipartUploadResult'), 'ETag');
  return etag === undefined ? undefined : { etag };
}

export function buildCompleteMultipartUpload(parts: readonly CompletedPart[]): string {
  const Part = parts.map((p) => ({ PartNumber: String(p.partNumber), ETag: quoteEtag(p.etag) }));
  return builder.build({ CompleteMultipartUpload: { Part } }) as string;
}
