import { describe, expect, it } from 'vitest';
import { errorOf } from '../../support/domain-errors.js';
import { MAX_DELETE_OBJECTS, parseCompleteMultipartUpload, parseDeleteRequest } from '../../../gateway/s3/xml/requests.js';
import { escapeXml } from '../../../gateway/s3/xml/common.js';


const deleteXml = (keys: readonly string[], extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n${keys
    .map((k) => `  <Object><Key>${escapeXml(k)}</Key></Object>\n`)
    .join('')}${extra}</Delete>`;

describe('parseDeleteRequest', () => {
  it('given keys and Quiet, then the keys in order and quiet mode', () => {
    expect(parseDeleteRequest(deleteXml(['a', 'b/c'], '<Quiet>true</Quiet>'))).toEqual({
      quiet: true,
      objects: [{ key: 'a' }, { key: 'b/c' }],
    });
    expect(parseDeleteRequest(deleteXml(['a'])).quiet).toBe(false);
    expect(parseDeleteRequest(deleteXml(['a'], '<Quiet> FALSE </Quiet>')).quiet).toBe(false);
  });

  it.each([
    ['XML-special characters', '&<>"\''],
    ['leading and trailing spaces', '  spaced key  '],
    ['only spaces', '   '],
    ['newlines and tabs', 'line1\nline2\tend'],
    ['a carriage return', 'a\r\nb\rc'],
    ['unicode', 'café/日本語/😀'],
    ['digits that look like a number', '0012'],
    ['a number with exponent', '1e5'],
    ['a boolean-looking key', 'true'],
    ['markup-looking text', '<Key>x</Key>'],
    ['entity-looking text', '&amp;&#65;'],
    ['U+0085 and U+2028', 'a\u0085b\u2028c'],
  ])('given a key with %s, then it round-trips exactly', (_name, key) => {
    expect(parseDeleteRequest(deleteXml([key])).objects[0]?.key).toBe(key);
  });

  it('given character references (as SDKs send CR/LF), then they are decoded', () => {
    const xml = '<Delete><Object><Key>a&#x0D;&#x0A;b&#13;&#10;c&#x1F600;&#60;</Key></Object></Delete>';
    expect(parseDeleteRequest(xml).objects[0]?.key).toBe('a\r\nb\r\nc😀<');
  });

  it('given CDATA, then its text is taken literally', () => {
    expect(parseDeleteRequest('<Delete><Object><Key><![CDATA[a &amp; <b>]]></Key></Object></Delete>').objects[0]?.key).toBe('a &amp; <b>');
  });

  it('given a namespace prefix, then it is accepted', () => {
    expect(parseDeleteRequest('<s3:Delete xmlns:s3="x"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>').objects).toEqual([{ key: 'k' }]);
  });

  it('given VersionId and conditional-delete fields, then they are returned for the caller to honour', () => {
    const xml =
      '<Delete><Object><Key>k</Key><VersionId>null</VersionId><ETag>"abc"</ETag><LastModifiedTime>2026-01-01T00:00:00.000Z</LastModifiedTime><Size>12</Size></Object></Delete>';
    expect(parseDeleteRequest(xml).objects[0]).toEqual({
      key: 'k',
      versionId: 'null',
      etag: '"abc"',
      lastModifiedTime: '2026-01-01T00:00:00.000Z',
      size: 12,
    });
  });

  it('given an empty key element, then the empty key is returned (the caller reports it per key)', () => {
    expect(parseDeleteRequest('<Delete><Object><Key/></Object></Delete>').objects).toEqual([{ key: '' }]);
  });

  it('given 1000 objects, then all are parsed; 1001 → MalformedXML', () => {
    const keys = Array.from({ length: MAX_DELETE_OBJECTS }, (_, i) => `key-${i} &<>`);
    const parsed = parseDeleteRequest(deleteXml(keys));
    expect(parsed.objects.map((o) => o.key)).toEqual(keys);
    expect(errorOf(() => parseDeleteRequest(deleteXml([...keys, 'one too many']))).code).toBe('MalformedXML');
  });

  it('given bytes, then they are read as UTF-8', () => {
    expect(parseDeleteRequest(Buffer.from(deleteXml(['café']), 'utf8')).objects[0]?.key).toBe('café');
  });

  it.each([
    ['an empty body', ''],
    ['whitespace', '  \n '],
    ['no objects', '<Delete><Quiet>true</Quiet></Delete>'],
    ['an empty Delete', '<Delete/>'],
    ['an Object without Key', '<Delete><Object><VersionId>x</VersionId></Object></Delete>'],
    ['two Keys in one Object', '<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>'],
    ['a Key with child elements', '<Delete><Object><Key>a<b>c</b></Key></Object></Delete>'],
    ['a wrong root', '<Remove><Object><Key>a</Key></Object></Remove>'],
    ['two roots', '<Delete><Object><Key>a</Key></Object></Delete><Delete/>'],
    ['unclosed tags', '<Delete><Object><Key>a</Key></Object>'],
    ['mismatched tags', '<Delete><Object><Key>a</Object></Key></Delete>'],
    ['not XML', '{"Objects":[{"Key":"a"}]}'],
    ['a bad Quiet', '<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>'],
    ['a bare ampersand', '<Delete><Object><Key>a & b</Key></Object></Delete>'],
    ['an unknown entity', '<Delete><Object><Key>&nbsp;</Key></Object></Delete>'],
    ['a reference to a non-XML character', '<Delete><Object><Key>a&#x1;b</Key></Object></Delete>'],
    ['a reference to U+0000', '<Delete><Object><Key>a&#0;</Key></Object></Delete>'],
    ['a reference to a surrogate', '<Delete><Object><Key>&#xD800;</Key></Object></Delete>'],
    ['a reference beyond Unicode', '<Delete><Object><Key>&#x110000;</Key></Object></Delete>'],
    ['stray text in Delete', '<Delete>junk<Object><Key>a</Key></Object></Delete>'],
    ['a non-integer Size', '<Delete><Object><Key>a</Key><Size>big</Size></Object></Delete>'],
    ['a __proto__ element', '<Delete><Object><Key>a</Key></Object><__proto__>x</__proto__></Delete>'],
  ])('given %s, then MalformedXML', (_name, xml) => {
    expect(errorOf(() => parseDeleteRequest(xml)).code).toBe('MalformedXML');
  });

  it('given invalid UTF-8 bytes, then MalformedXML', () => {
    expect(errorOf(() => parseDeleteRequest(Buffer.from([0x3c, 0x44, 0xff, 0x3e]))).code).toBe('MalformedXML');
  });

  describe('given DOCTYPE / entity tricks', () => {
    it.each([
      ['an internal entity', '<!DOCTYPE d [<!ENTITY e "boom">]><Delete><Object><Key>&e;</Key></Object></Delete>'],
      [
        'a billion laughs',
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Delete><Object><Key>&lol2;</Key></Object></Delete>',
      ],
      ['an external entity', '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&xxe;</Key></Object></Delete>'],
      ['a DOCTYPE alone', '<!DOCTYPE Delete><Delete><Object><Key>a</Key></Object></Delete>'],
      ['a lower-case doctype', '<!doctype Delete><Delete><Object><Key>a</Key></Object></Delete>'],
    ])('with %s, then MalformedXML', (_name, xml) => {
      expect(errorOf(() => parseDeleteRequest(xml)).code).toBe('MalformedXML');
    });
  });
});

describe('parseCompleteMultipartUpload', () => {
  it('given parts, then part numbers and ETags in document order, ETag quotes kept', () => {
    const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>
      <Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag><PartNumber> 2 </PartNumber></Part>
    </CompleteMultipartUpload>`;
    expect(parseCompleteMultipartUpload(xml)).toEqual([
      { partNumber: 1, etag: '"a54357aff0632cce46d942af68356b38"' },
      { partNumber: 2, etag: '"0c78aef83f66abc1fa1e8477f296d394"' },
    ]);
  });

  it('given checksums, then they are returned per part', () => {
    const xml =
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumSHA256>x=</ChecksumSHA256></Part></CompleteMultipartUpload>';
    expect(parseCompleteMultipartUpload(xml)).toEqual([{ partNumber: 1, etag: 'e', checksums: { ChecksumCRC32: 'AAAAAA==', ChecksumSHA256: 'x=' } }]);
  });

  it('given out-of-range or unordered numbers, then they are returned for the domain to judge', () => {
    const xml =
      '<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part><Part><PartNumber>10001</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>';
    expect(parseCompleteMultipartUpload(xml).map((p) => p.partNumber)).toEqual([0, 10001]);
  });

  it('given no parts, then an empty list (the domain answers MalformedXML)', () => {
    expect(parseCompleteMultipartUpload('<CompleteMultipartUpload></CompleteMultipartUpload>')).toEqual([]);
    expect(parseCompleteMultipartUpload('<CompleteMultipartUpload/>')).toEqual([]);
  });

  it.each([
    ['a part without ETag', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>'],
    ['a part without PartNumber', '<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>'],
    ['a non-numeric PartNumber', '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>'],
    ['a fractional PartNumber', '<CompleteMultipartUpload><Part><PartNumber>1.5</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>'],
    ['two PartNumbers', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>'],
    ['a wrong root', '<Complete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Complete>'],
    ['an empty body', ''],
    ['a DOCTYPE', '<!DOCTYPE c><CompleteMultipartUpload/>'],
  ])('given %s, then MalformedXML', (_name, xml) => {
    expect(errorOf(() => parseCompleteMultipartUpload(xml)).code).toBe('MalformedXML');
  });
});
