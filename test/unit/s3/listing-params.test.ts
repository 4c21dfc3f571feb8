import { describe, expect, it } from 'vitest';
import { errorOf } from '../../support/domain-errors.js';
import {
  decodeContinuationToken,
  encodeContinuationToken,
  parseListMultipartUploadsParams,
  parseListObjectsV1Params,
  parseListObjectsV2Params,
  parseListPartsParams,
} from '../../../domain/s3/listing-params.js';


describe('ListObjects v1 params', () => {
  it('given nothing, then empty prefix/delimiter/marker and 1000 keys', () => {
    expect(parseListObjectsV1Params({})).toEqual({
      prefix: '',
      delimiter: '',
      marker: '',
      maxKeys: { requested: 1000, pageSize: 1000 },
      encodingType: undefined,
    });
  });

  it('given all parameters, then they are taken as sent', () => {
    expect(parseListObjectsV1Params({ prefix: 'a/', delimiter: '|', marker: 'a/b', 'max-keys': '10', 'encoding-type': 'url' })).toEqual({
      prefix: 'a/',
      delimiter: '|',
      marker: 'a/b',
      maxKeys: { requested: 10, pageSize: 10 },
      encodingType: 'url',
    });
  });

  it.each([
    ['0', { requested: 0, pageSize: 0 }],
    ['1', { requested: 1, pageSize: 1 }],
    ['1000', { requested: 1000, pageSize: 1000 }],
    ['5000', { requested: 5000, pageSize: 1000 }],
    ['2147483647', { requested: 2147483647, pageSize: 1000 }],
    ['007', { requested: 7, pageSize: 7 }],
    ['', { requested: 1000, pageSize: 1000 }],
    ['-0', { requested: 0, pageSize: 0 }],
  ])('given max-keys=%j, then %j (capped at 1000, the request echoed)', (raw, expected) => {
    expect(parseListObjectsV1Params({ 'max-keys': raw }).maxKeys).toEqual(expected);
  });

  it.each(['-1', '-2147483648'])('given the negative max-keys %j, then InvalidArgument "Argument maxKeys must be…"', (raw) => {
    const e = errorOf(() => parseListObjectsV1Params({ 'max-keys': raw }));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('Argument maxKeys must be an integer between 0 and 2147483647');
    expect(e.details).toEqual({ ArgumentName: 'maxKeys', ArgumentValue: raw });
  });

  it.each(['abc', '1.5', '+5', ' 5', '2147483648', '-2147483649', '1e3', '0x10'])(
    'given the non-integer max-keys %j, then InvalidArgument "Provided max-keys not an integer…"',
    (raw) => {
      const e = errorOf(() => parseListObjectsV1Params({ 'max-keys': raw }));
      expect(e.code).toBe('InvalidArgument');
      expect(e.message).toBe('Provided max-keys not an integer or within integer range');
    },
  );

  it.each(['URL', 'base64', 'xml'])('given encoding-type=%j, then InvalidArgument', (raw) => {
    const e = errorOf(() => parseListObjectsV1Params({ 'encoding-type': raw }));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('Invalid Encoding Method specified in Request');
  });
});

describe('ListObjects v2 params and continuation tokens', () => {
  it('given no token, then start-after is where listing starts', () => {
    const p = parseListObjectsV2Params({ 'list-type': '2', 'start-after': 'k5' });
    expect(p.after).toBe('k5');
    expect(p.startAfter).toBe('k5');
    expect(p.continuationToken).toBeUndefined();
    expect(p.fetchOwner).toBe(false);
  });

  it('given a token and start-after, then the token decides where listing resumes', () => {
    const token = encodeContinuationToken('k9');
    const p = parseListObjectsV2Params({ 'continuation-token': token, 'start-after': 'k5', 'fetch-owner': 'true' });
    expect(p.after).toBe('k9');
    expect(p.continuationToken).toBe(token);
    expect(p.fetchOwner).toBe(true);
  });

  it.each(['plain', 'a/b', 'café/😀', '', ' spaces ', '&<>"\'', 'x'.repeat(1024), 'line\nbreak', '+/='])(
    'round-trips the key %j through an opaque, URL-safe token',
    (key) => {
      const token = encodeContinuationToken(key);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeContinuationToken(token)).toBe(key);
    },
  );

  it('given an empty continuation-token, then no token: the listing starts at start-after or the beginning', () => {
    expect(parseListObjectsV2Params({ 'continuation-token': '' })).toMatchObject({ continuationToken: undefined, after: '' });
    expect(parseListObjectsV2Params({ 'continuation-token': '', 'start-after': 'k5' })).toMatchObject({ continuationToken: undefined, after: 'k5' });
  });

  it.each([
    'not base64!',
    'a/b',
    btoa('{"v":1}'),
    Buffer.from('{"v":2,"k":"a"}').toString('base64url'),
    Buffer.from('{"v":1,"k":5}').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('null').toString('base64url'),
    Buffer.from([0xff, 0xfe, 0x00]).toString('base64url'),
    'A',
  ])('given the token %j that we did not issue, then InvalidArgument "The continuation token provided is incorrect"', (token) => {
    const e = errorOf(() => parseListObjectsV2Params({ 'continuation-token': token }));
    expect(e.code).toBe('InvalidArgument');
    expect(e.message).toBe('The continuation token provided is incorrect');
  });
});

describe('ListMultipartUploads params', () => {
  it('given defaults, then 1000 uploads and empty markers', () => {
    expect(parseListMultipartUploadsParams({ uploads: '' })).toEqual({
      prefix: '',
      delimiter: '',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: { requested: 1000, pageSize: 1000 },
      encodingType: undefined,
    });
  });

  it('given upload-id-marker without key-marker, then it is ignored as S3 does', () => {
    expect(parseListMultipartUploadsParams({ 'upload-id-marker': 'u1' }).uploadIdMarker).toBe('');
    expect(parseListMultipartUploadsParams({ 'key-marker': 'k', 'upload-id-marker': 'u1' }).uploadIdMarker).toBe('u1');
  });

  it('given max-uploads over 1000, then capped; negative or not a number → InvalidArgument', () => {
    expect(parseListMultipartUploadsParams({ 'max-uploads': '2000' }).maxUploads).toEqual({ requested: 2000, pageSize: 1000 });
    expect(errorOf(() => parseListMultipartUploadsParams({ 'max-uploads': '-1' })).message).toBe(
      'Argument max-uploads must be an integer between 0 and 2147483647',
    );
    expect(errorOf(() => parseListMultipartUploadsParams({ 'max-uploads': 'x' })).message).toBe(
      'Provided max-uploads not an integer or within integer range',
    );
  });
});

describe('ListParts params', () => {
  it('given defaults, then marker 0 and 1000 parts', () => {
    expect(parseListPartsParams({})).toEqual({ partNumberMarker: 0, maxParts: { requested: 1000, pageSize: 1000 } });
  });

  it('given values, then they are used, max-parts capped at 1000', () => {
    expect(parseListPartsParams({ 'part-number-marker': '5', 'max-parts': '1001' })).toEqual({
      partNumberMarker: 5,
      maxParts: { requested: 1001, pageSize: 1000 },
    });
  });

  it.each([
    ['max-parts', '-3'],
    ['max-parts', 'ten'],
    ['part-number-marker', '-1'],
    ['part-number-marker', 'x'],
  ])('given %s=%j, then InvalidArgument', (param, raw) => {
    expect(errorOf(() => parseListPartsParams({ [param]: raw })).code).toBe('InvalidArgument');
  });
});
