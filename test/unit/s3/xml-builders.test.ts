import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { ListingRow } from '../../../domain/s3/listing.js';
import { buildListAllMyBucketsXml, buildLocationConstraintXml, buildVersioningConfigurationXml } from '../../../gateway/s3/xml/buckets.js';
import { escapeXml, s3UrlEncode } from '../../../gateway/s3/xml/common.js';
import { buildErrorXml } from '../../../gateway/s3/xml/error.js';
import { buildListObjectsV1Xml, buildListObjectsV2Xml } from '../../../gateway/s3/xml/list-objects.js';
import {
  buildCompleteMultipartUploadResultXml,
  buildInitiateMultipartUploadResultXml,
  buildListMultipartUploadsResultXml,
  buildListPartsResultXml,
} from '../../../gateway/s3/xml/multipart.js';
import { buildCopyObjectResultXml, buildCopyPartResultXml, buildDeleteResultXml } from '../../../gateway/s3/xml/objects.js';

/** A faithful reader: XML 1.0 entities and character references decoded, nothing trimmed or typed. */
const reader = new XMLParser({ ignoreAttributes: false, trimValues: false, parseTagValue: false, htmlEntities: true });
function read(xml: string): Record<string, unknown> {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  return reader.parse(xml) as Record<string, unknown>;
}

const owner = { id: 's3o-owner-id', displayName: 's3-orchestrator' };
const T = Date.UTC(2026, 10, 25, 12, 34, 56, 789);
const row = (key: string, size = 3): ListingRow => ({ key, size, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModifiedMs: T, storageClass: 'STANDARD' });

describe('escapeXml', () => {
  it.each([
    ['plain', 'plain'],
    ['&<>"\'', '&amp;&lt;&gt;&quot;&apos;'],
    ['a\rb', 'a&#xD;b'],
    ['a\nb\tc', 'a&#xA;b&#x9;c'],
    ['\u0001', '&#x1;'],
    ['x\u0085\u2028', 'x&#x85;&#x2028;'],
    ['😀 é', '😀 é'],
  ])('escapes %j as %j', (input, output) => {
    expect(escapeXml(input)).toBe(output);
  });
});

describe('s3UrlEncode (encoding-type=url)', () => {
  it.each([
    ['photos/2026/a.jpg', 'photos/2026/a.jpg'],
    ['a b', 'a%20b'],
    ['a+b', 'a%2Bb'],
    ['a*b-c_d.e', 'a*b-c_d.e'],
    ['~!\'()', '%7E%21%27%28%29'],
    ['&<>"', '%26%3C%3E%22'],
    ['é', '%C3%A9'],
    ['😀', '%F0%9F%98%80'],
    ['\u0001\n', '%01%0A'],
    ['%', '%25'],
  ])('encodes %j as %j', (input, output) => {
    expect(s3UrlEncode(input)).toBe(output);
  });

  it('is reversible with form (unquote_plus) decoding and with plain percent-decoding', () => {
    const key = ' weird key/with ü & + and ~ \u0001 😀';
    const encoded = s3UrlEncode(key);
    expect(decodeURIComponent(encoded.replace(/\+/g, ' '))).toBe(key);
    expect(decodeURIComponent(encoded)).toBe(key);
  });
});

describe('Error', () => {
  it('renders Code, Message, extra fields, Resource and RequestId in that order, escaped', () => {
    const xml = buildErrorXml({
      code: 'NoSuchKey',
      message: 'The specified key does not exist.',
      fields: { Key: 'a&b <c>', BucketName: 'bkt', Ignored: undefined },
      resource: '/bkt/a&b <c>',
      requestId: '0123456789ABCDEF',
    });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>' +
        '<Key>a&amp;b &lt;c&gt;</Key><BucketName>bkt</BucketName><Resource>/bkt/a&amp;b &lt;c&gt;</Resource><RequestId>0123456789ABCDEF</RequestId></Error>',
    );
    expect(read(xml)).toMatchObject({ Error: { Key: 'a&b <c>' } });
  });

  it('renders numeric fields and omits absent Resource/RequestId', () => {
    const xml = buildErrorXml({ code: 'InvalidRange', message: 'm', fields: { ActualObjectSize: 0 } });
    expect(xml).toContain('<ActualObjectSize>0</ActualObjectSize></Error>');
    expect(xml).not.toContain('RequestId');
  });
});

describe('bucket-level documents', () => {
  it('ListAllMyBucketsResult has the owner and each bucket with its creation date', () => {
    const doc = read(buildListAllMyBucketsXml({ owner, buckets: [{ name: 'photos', creationDateMs: T }] }));
    expect(doc).toMatchObject({
      ListAllMyBucketsResult: {
        '@_xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/',
        Owner: { ID: 's3o-owner-id', DisplayName: 's3-orchestrator' },
        Buckets: { Bucket: { Name: 'photos', CreationDate: '2026-11-25T12:34:56.789Z' } },
      },
    });
  });

  it('LocationConstraint is empty for us-east-1 and names any other region', () => {
    expect(buildLocationConstraintXml('us-east-1')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
    );
    expect(read(buildLocationConstraintXml('eu-west-1'))).toMatchObject({ LocationConstraint: { '#text': 'eu-west-1' } });
  });

  it('VersioningConfiguration is empty', () => {
    expect(buildVersioningConfigurationXml()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
    );
  });
});

describe('ListBucketResult v1', () => {
  const base = {
    bucket: 'bkt',
    prefix: '',
    delimiter: '',
    maxKeys: 1000,
    encodingType: undefined,
    marker: '',
    owner,
  } as const;

  it('lists keys with LastModified (ms, Z), quoted ETag, Size, Owner and StorageClass', () => {
    const xml = buildListObjectsV1Xml({ ...base, isTruncated: false, nextMarker: undefined, contents: [row('a')], commonPrefixes: [] });
    expect(xml).toContain(
      '<Contents><Key>a</Key><LastModified>2026-11-25T12:34:56.789Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>' +
        '<Size>3</Size><Owner><ID>s3o-owner-id</ID><DisplayName>s3-orchestrator</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>',
    );
    expect(read(xml)).toMatchObject({
      ListBucketResult: { Name: 'bkt', Prefix: '', Marker: '', MaxKeys: '1000', IsTruncated: 'false', Contents: { ETag: '"d41d8cd98f00b204e9800998ecf8427e"' } },
    });
    expect(xml).not.toContain('NextMarker');
    expect(xml).not.toContain('Delimiter');
  });

  it('writes NextMarker only when truncated with a delimiter', () => {
    const truncatedDelimited = buildListObjectsV1Xml({ ...base, delimiter: '/', isTruncated: true, nextMarker: 'b/', contents: [], commonPrefixes: ['a/', 'b/'] });
    expect(read(truncatedDelimited)).toMatchObject({
      ListBucketResult: { NextMarker: 'b/', Delimiter: '/', IsTruncated: 'true', CommonPrefixes: [{ Prefix: 'a/' }, { Prefix: 'b/' }] },
    });
    const truncatedFlat = buildListObjectsV1Xml({ ...base, isTruncated: true, nextMarker: 'a', contents: [row('a')], commonPrefixes: [] });
    expect(truncatedFlat).not.toContain('NextMarker');
  });

  it('URL-encodes Prefix, Marker, NextMarker, Delimiter, Key and CommonPrefixes with encoding-type=url', () => {
    const xml = buildListObjectsV1Xml({
      ...base,
      prefix: 'my dir/',
      delimiter: ' ',
      marker: 'my dir/ä',
      encodingType: 'url',
      isTruncated: true,
      nextMarker: 'my dir/x y',
      contents: [row('my dir/&\u0001')],
      commonPrefixes: ['my dir/x '],
    });
    expect(read(xml)).toMatchObject({
      ListBucketResult: {
        Prefix: 'my%20dir/',
        Marker: 'my%20dir/%C3%A4',
        NextMarker: 'my%20dir/x%20y',
        Delimiter: '%20',
        EncodingType: 'url',
        Contents: { Key: 'my%20dir/%26%01' },
        CommonPrefixes: { Prefix: 'my%20dir/x%20' },
      },
    });
  });

  it.each([
    ['XML-special characters', '&<>"\''],
    ['leading/trailing spaces', '  k  '],
    ['newline and CR', 'a\r\nb'],
    ['unicode', '日本/😀'],
  ])('round-trips a key with %s without encoding-type', (_name, key) => {
    const xml = buildListObjectsV1Xml({ ...base, isTruncated: false, nextMarker: undefined, contents: [row(key)], commonPrefixes: [] });
    expect((read(xml)['ListBucketResult'] as { Contents: { Key: string } }).Contents.Key).toBe(key);
  });
});

describe('ListBucketResult v2', () => {
  const base = { bucket: 'bkt', prefix: 'p/', delimiter: '/', maxKeys: 2, encodingType: undefined, startAfter: undefined, owner: undefined } as const;

  it('has KeyCount counting keys and prefixes, tokens, and no Owner without fetch-owner', () => {
    const xml = buildListObjectsV2Xml({
      ...base,
      continuationToken: 'tok1',
      nextContinuationToken: 'tok2',
      isTruncated: true,
      contents: [row('p/a')],
      commonPrefixes: ['p/b/'],
    });
    expect(read(xml)).toMatchObject({
      ListBucketResult: {
        Name: 'bkt',
        Prefix: 'p/',
        ContinuationToken: 'tok1',
        NextContinuationToken: 'tok2',
        KeyCount: '2',
        MaxKeys: '2',
        Delimiter: '/',
        IsTruncated: 'true',
        Contents: { Key: 'p/a' },
        CommonPrefixes: { Prefix: 'p/b/' },
      },
    });
    expect(xml).not.toContain('<Owner>');
    expect(xml).not.toContain('StartAfter');
  });

  it('with fetch-owner lists owners; with encoding-type=url encodes StartAfter but never the tokens', () => {
    const xml = buildListObjectsV2Xml({
      ...base,
      owner,
      startAfter: 'p/a b',
      encodingType: 'url',
      continuationToken: 'ab-_',
      nextContinuationToken: undefined,
      isTruncated: false,
      contents: [row('p/a b')],
      commonPrefixes: [],
    });
    expect(read(xml)).toMatchObject({
      ListBucketResult: { StartAfter: 'p/a%20b', ContinuationToken: 'ab-_', Contents: { Key: 'p/a%20b', Owner: { ID: 's3o-owner-id' } } },
    });
  });

  it('builds a 1000-key page that parses back to the same keys', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => row(`dir/key-${i} &<>`, i));
    const xml = buildListObjectsV2Xml({
      ...base,
      prefix: '',
      delimiter: '',
      maxKeys: 1000,
      continuationToken: undefined,
      nextContinuationToken: undefined,
      isTruncated: false,
      contents: rows,
      commonPrefixes: [],
    });
    const contents = (read(xml)['ListBucketResult'] as { Contents: { Key: string; Size: string }[] }).Contents;
    expect(contents.map((c) => c.Key)).toEqual(rows.map((r) => r.key));
    expect(contents[999]?.Size).toBe('999');
  });
});

describe('object and multipart results', () => {
  it('CopyObjectResult and CopyPartResult carry LastModified and the quoted ETag', () => {
    expect(read(buildCopyObjectResultXml({ etag: 'abc', lastModifiedMs: T }))).toMatchObject({
      CopyObjectResult: { LastModified: '2026-11-25T12:34:56.789Z', ETag: '"abc"' },
    });
    expect(read(buildCopyPartResultXml({ etag: '"abc"', lastModifiedMs: T }))).toMatchObject({ CopyPartResult: { ETag: '"abc"' } });
  });

  it('InitiateMultipartUploadResult and CompleteMultipartUploadResult', () => {
    expect(read(buildInitiateMultipartUploadResultXml({ bucket: 'b', key: 'k &', uploadId: 'u1' }))).toMatchObject({
      InitiateMultipartUploadResult: { Bucket: 'b', Key: 'k &', UploadId: 'u1' },
    });
    expect(read(buildCompleteMultipartUploadResultXml({ location: 'http://h/b/k', bucket: 'b', key: 'k', etag: 'abc-2' }))).toMatchObject({
      CompleteMultipartUploadResult: { Location: 'http://h/b/k', Bucket: 'b', Key: 'k', ETag: '"abc-2"' },
    });
  });

  it('ListPartsResult lists parts with markers and owners', () => {
    const xml = buildListPartsResultXml({
      bucket: 'b',
      key: 'k',
      uploadId: 'u',
      initiator: owner,
      owner,
      storageClass: 'STANDARD',
      partNumberMarker: 0,
      nextPartNumberMarker: 2,
      maxParts: 2,
      isTruncated: true,
      parts: [
        { partNumber: 1, lastModifiedMs: T, etag: 'e1', size: 5 },
        { partNumber: 2, lastModifiedMs: T, etag: 'e2', size: 6 },
      ],
    });
    expect(read(xml)).toMatchObject({
      ListPartsResult: {
        Initiator: { ID: 's3o-owner-id' },
        PartNumberMarker: '0',
        NextPartNumberMarker: '2',
        MaxParts: '2',
        IsTruncated: 'true',
        Part: [
          { PartNumber: '1', ETag: '"e1"', Size: '5', LastModified: '2026-11-25T12:34:56.789Z' },
          { PartNumber: '2', ETag: '"e2"', Size: '6' },
        ],
      },
    });
  });

  it('ListMultipartUploadsResult lists uploads and prefixes, URL-encoding key fields on request', () => {
    const xml = buildListMultipartUploadsResultXml({
      bucket: 'b',
      keyMarker: 'a b',
      uploadIdMarker: 'u0',
      nextKeyMarker: 'c d',
      nextUploadIdMarker: 'u9',
      prefix: '',
      delimiter: '/',
      maxUploads: 10,
      encodingType: 'url',
      isTruncated: true,
      uploads: [{ key: 'c d', uploadId: 'u9', initiator: owner, owner, storageClass: 'STANDARD', initiatedMs: T }],
      commonPrefixes: ['x y/'],
    });
    expect(read(xml)).toMatchObject({
      ListMultipartUploadsResult: {
        KeyMarker: 'a%20b',
        UploadIdMarker: 'u0',
        NextKeyMarker: 'c%20d',
        NextUploadIdMarker: 'u9',
        Delimiter: '/',
        MaxUploads: '10',
        EncodingType: 'url',
        Upload: { Key: 'c%20d', UploadId: 'u9', Initiated: '2026-11-25T12:34:56.789Z' },
        CommonPrefixes: { Prefix: 'x%20y/' },
      },
    });
  });

  it('DeleteResult lists Deleted and Error entries; Quiet omits Deleted', () => {
    const input = {
      deleted: [{ key: 'a &' }, { key: ' b ' }],
      errors: [{ key: 'c', code: 'InternalError', message: 'We encountered an internal error. Please try again.' }],
    };
    expect(read(buildDeleteResultXml({ quiet: false, ...input }))).toMatchObject({
      DeleteResult: {
        Deleted: [{ Key: 'a &' }, { Key: ' b ' }],
        Error: { Key: 'c', Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' },
      },
    });
    const quiet = buildDeleteResultXml({ quiet: true, ...input });
    expect(quiet).not.toContain('<Deleted>');
    expect(quiet).toContain('<Error><Key>c</Key>');
    expect(buildDeleteResultXml({ quiet: true, deleted: input.deleted, errors: [] })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>',
    );
  });
});
