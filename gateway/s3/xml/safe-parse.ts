import { XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { DomainError } from '../../../domain/errors.js';

/**
 * Parsing of client-sent XML bodies into a plain tree, hardened for S3 request documents:
 * - no DOCTYPE at all (so no entity expansion, internal or external);
 * - only the five predefined entities and character references to XML characters — anything
 *   else is MalformedXML instead of being passed through or silently dropped;
 * - text kept exactly (no trimming, no number parsing), so keys with spaces, newlines or
 *   digits round-trip; CDATA is kept verbatim.
 * The caller enforces the byte limit on the body before calling.
 */

export const malformedXmlError = (): DomainError => new DomainError('MalformedXML');

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const isXmlChar = (cp: number): boolean =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);

function resolveReference(ref: string): string {
  const named = PREDEFINED[ref];
  if (named !== undefined) return named;
  let cp = NaN;
  if (/^#x[0-9A-Fa-f]{1,6}$/.test(ref)) cp = parseInt(ref.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(ref)) cp = parseInt(ref.slice(1), 10);
  if (!isXmlChar(cp)) throw malformedXmlError();
  return String.fromCodePoint(cp);
}

function decodeReferences(text: string): string {
  let amp = text.indexOf('&');
  if (amp === -1) return text;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = text.indexOf(';', amp);
    if (semi === -1) throw malformedXmlError();
    out += text.slice(from, amp) + resolveReference(text.slice(amp + 1, semi));
    from = semi + 1;
    amp = text.indexOf('&', from);
  }
  return out + text.slice(from);
}

const strictEntities: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: (entities) => {
    if (Object.keys(entities).length > 0) throw malformedXmlError();
  },
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: decodeReferences,
};

const TEXT = '#text';

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  trimValues: false,
  parseTagValue: false,
  processEntities: true,
  entityDecoder: strictEntities,
  ignoreDeclaration: true,
  ignorePiTags: true,
  textNodeName: TEXT,
  isArray: () => true,
});

/** An element: its text (leaf) or its children by name. */
export type XmlNode = string | XmlElement;
export interface XmlElement {
  readonly [name: string]: XmlNode[] | string | undefined;
}

function decodeBody(body: string | Uint8Array): string {
  if (typeof body === 'string') return body;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw malformedXmlError();
  }
}

/** Parses a request body whose single root element must be `rootName`; MalformedXML otherwise. */
export function parseRequestXml(body: string | Uint8Array, rootName: string): XmlNode {
  const xml = decodeBody(body);
  if (xml.trim() === '' || /<!DOCTYPE/i.test(xml) || XMLValidator.validate(xml) !== true) throw malformedXmlError();
  let tree: unknown;
  try {
    tree = parser.parse(xml);
  } catch {
    throw malformedXmlError();
  }
  if (typeof tree !== 'object' || tree === null) throw malformedXmlError();
  const names = Object.keys(tree);
  const roots = (tree as Record<string, unknown>)[rootName];
  if (names.length !== 1 || !Array.isArray(roots) || roots.length !== 1) throw malformedXmlError();
  return roots[0] as XmlNode;
}

/** The child elements named `name` (none when the node is a leaf). */
export function children(node: XmlNode, name: string): XmlNode[] {
  if (typeof node === 'string') return [];
  const found = node[name];
  return Array.isArray(found) ? found : [];
}

/** The text of a leaf element; MalformedXML for an element with children. */
export function textOf(node: XmlNode): string {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const text = node[TEXT];
  if (keys.length === 1 && typeof text === 'string') return text;
  throw malformedXmlError();
}

/** The text of the one child named `name`; undefined when absent, MalformedXML when repeated. */
export function optionalText(node: XmlNode, name: string): string | undefined {
  const found = children(node, name);
  if (found.length > 1) throw malformedXmlError();
  const first = found[0];
  return first === undefined ? undefined : textOf(first);
}

export function requiredText(node: XmlNode, name: string): string {
  const text = optionalText(node, name);
  if (text === undefined) throw malformedXmlError();
  return text;
}

/** Container elements may hold whitespace between children, but no other text. */
export function assertNoStrayText(node: XmlNode): void {
  if (typeof node === 'string') {
    if (node.trim() !== '') throw malformedXmlError();
    return;
  }
  const text = node[TEXT];
  if (typeof text === 'string' && text.trim() !== '') throw malformedXmlError();
}
