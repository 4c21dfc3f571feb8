import { CompleteMultipartUploadCommand, DeleteObjectsCommand, type CompletedPart, type ObjectIdentifier } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCompleteMultipartUploadResultXml } from '../../gateway/s3/xml/multipart.js';
import { buildDeleteResultXml } from '../../gateway/s3/xml/objects.js';
import { parseCompleteMultipartUpload, parseDeleteRequest } from '../../gateway/s3/xml/requests.js';
import { clientAnswering } from '../support/sdk-answering.js';
import { anyChar } from './arbitraries.js';
import { clientOutcome, fuzzRuns } from './fuzz-runs.js';

/**
 * The XML request parsers (CompleteMultipartUpload, DeleteObjects): what the AWS SDK serializes
 * parses back to exactly what was sent, and any other document — broken, hostile, deep — is
 * MalformedXML (a 4xx), never a crash.
 */

const isXmlChar = (cp: number): boolean =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
const xmlSafe = (s: string): boolean => Array.from(s).every((ch) => isXmlChar(ch.codePointAt(0) as number));

/** Text heavy on what XML must escape, with whitespace that must survive and control characters it cannot carry. */
const xmlText = fc.string({
  unit: fc.oneof(fc.constantFrom('&', '<', '>', '"', "'", ' ', '\n', '\r', '\t', ']]>', '&amp;', '\u0001', '\u001f', '\ufffe', '0'), anyChar),
  maxLength: 24,
});

/** The AWS SDK with its HTTP handler replaced: it captures what the SDK would send. */
let captured = '';
let answer = '';
const sdk = clientAnswering((body) => {
  captured = body;
  return { status: 200, xml: answer };
});

/** The body the SDK sends for a command. */
async function sdkBody(send: () => Promise<unknown>, reply: string): Promise<string> {
  captured = '';
  answer = reply;
  await send().catch(() => undefined);
  return captured;
}

const deleteEntry = fc.record({
  Key: xmlText.filter((k) => k !== ''),
  ETag: fc.option(xmlText, { nil: undefined }),
  Size: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
}, { requiredKeys: ['Key'] });

const completedPart = fc.record({
  PartNumber: fc.integer({ min: -5, max: 10_005 }),
  ETag: xmlText,
  ChecksumCRC32: fc.option(fc.base64String({ maxLength: 12 }), { nil: undefined }),
  ChecksumSHA256: fc.option(fc.base64String({ maxLength: 44 }), { nil: undefined }),
}, { requiredKeys: ['PartNumber', 'ETag'] });

describe('fuzz: XML request bodies', () => {
  it('DeleteObjects: the keys, ETags and sizes the SDK sends arrive exactly, or the body is MalformedXML', async () => {
    await fc.assert(fc.asyncProperty(fc.array(deleteEntry, { minLength: 1, maxLength: 6 }), fc.boolean(), async (objects, quiet) => {
      const body = await sdkBody(() => sdk.send(new DeleteObjectsCommand({ Bucket: 'bkt', Delete: { Objects: objects as ObjectIdentifier[], Quiet: quiet } })), buildDeleteResultXml({ quiet: true, deleted: [], errors: [] }));
      const outcome = clientOutcome(() => parseDeleteRequest(body));
      const representable = objects.every((o) => xmlSafe(o.Key) && xmlSafe(o.ETag ?? ''));
      if (!outcome.ok) {
        expect(outcome.code).toBe('MalformedXML');
        expect(representable).toBe(false);
        return;
      }
      expect(outcome.value.quiet).toBe(quiet);
      expect(outcome.value.objects.map((o) => o.key)).toEqual(objects.map((o) => o.Key));
      expect(outcome.value.objects.map((o) => o.size)).toEqual(objects.map((o) => o.Size));
      expect(outcome.value.objects.map((o) => o.etag)).toEqual(objects.map((o) => o.ETag?.trim()));
    }), fuzzRuns(40));
  });

  it('CompleteMultipartUpload: the parts and checksums the SDK sends arrive exactly, or the body is MalformedXML', async () => {
    const completed = buildCompleteMultipartUploadResultXml({ location: 'http://h/bkt/k', bucket: 'bkt', key: 'k', etag: 'abc-2' });
    await fc.assert(fc.asyncProperty(fc.array(completedPart, { maxLength: 6 }), async (parts) => {
      const body = await sdkBody(() => sdk.send(new CompleteMultipartUploadCommand({ Bucket: 'bkt', Key: 'k', UploadId: 'u', MultipartUpload: { Parts: parts as CompletedPart[] } })), completed);
      const outcome = clientOutcome(() => parseCompleteMultipartUpload(body));
      if (!outcome.ok) {
        expect(outcome.code).toBe('MalformedXML');
        expect(parts.every((p) => xmlSafe(p.ETag))).toBe(false);
        return;
      }
      expect(outcome.value).toEqual(parts.map((p) => ({
        partNumber: p.PartNumber,
        etag: p.ETag.trim(),
        ...(p.ChecksumCRC32 !== undefined || p.ChecksumSHA256 !== undefined
          ? { checksums: { ...(p.ChecksumCRC32 !== undefined ? { ChecksumCRC32: p.ChecksumCRC32 } : {}), ...(p.ChecksumSHA256 !== undefined ? { ChecksumSHA256: p.ChecksumSHA256 } : {}) } }
          : {}),
      })));
    }), fuzzRuns(40));
  });

  it('answers a changed, truncated or hostile document with MalformedXML or a parse, never a crash', () => {
    const valid = [
      '<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><ETag>"e"</ETag><Size>3</Size></Object></Delete>',
      '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>',
    ];
    const hostile = fc.constantFrom(
      '<!DOCTYPE d [<!ENTITY e "x">]>', '&e;', '&#0;', '&#x110000;', '&#xD800;', '&#65;', '<![CDATA[<Key>]]>', '<!-- c -->', '<?pi x?>',
      '<a:Key xmlns:a="u">', '</a:Key>', '<Object>', '</Object>', '<Part>', '</Part>', '<Key/>', '<Size>-1</Size>', '<Size>1e3</Size>',
      '<PartNumber>99999999999999999999</PartNumber>', '<Quiet>maybe</Quiet>', '\u0000', '\ufeff', '<', '>', '&', '"', ']]>', ' ', '\n',
    );
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.oneof(hostile, fc.string({ maxLength: 6 })));
    fc.assert(fc.property(fc.constantFrom(...valid), fc.array(edit, { maxLength: 4 }), fc.nat({ max: 4000 }), (base, edits, depth) => {
      let doc = base;
      for (const [at, cut, insert] of edits) {
        const i = at % (doc.length + 1);
        doc = doc.slice(0, i) + insert + doc.slice(i + cut);
      }
      if (depth > 3800) doc = doc.replace('<Object>', `<Object>${'<X>'.repeat(depth)}${'</X>'.repeat(depth)}`);
      for (const parse of [parseDeleteRequest, parseCompleteMultipartUpload]) {
        for (const input of [doc, Buffer.from(doc, 'utf8'), Buffer.from(doc, 'latin1')]) {
          const outcome = clientOutcome(() => parse(input));
          if (!outcome.ok) expect(outcome.code).toBe('MalformedXML');
        }
      }
    }), fuzzRuns(150));
  });
});
