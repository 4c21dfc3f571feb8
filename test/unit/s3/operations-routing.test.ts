import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../domain/errors.js';
import { routeOperation } from '../../../gateway/s3/operations.js';

function route(method: string, key: string | undefined, query: string, headers: Record<string, string> = {}): string {
  try {
    return routeOperation(method, 'alpha', key, new URLSearchParams(query), headers);
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
}

describe('routing of object tagging', () => {
  it('answers GET ?tagging on an object, and no other tagging call', () => {
    expect(route('GET', 'k', 'tagging')).toBe('GetObjectTagging');
    expect(route('GET', 'k', 'tagging&versionId=null')).toBe('GetObjectTagging');
    expect(route('GET', 'k', 'tagging&versionId=3')).toBe('NotImplemented');
    expect(route('GET', 'k', 'tagging&acl')).toBe('NotImplemented');
    expect(route('PUT', 'k', 'tagging')).toBe('NotImplemented');
    expect(route('DELETE', 'k', 'tagging')).toBe('NotImplemented');
    expect(route('GET', undefined, 'tagging')).toBe('NotImplemented');
  });

  it('refuses writes that carry tags instead of dropping them', () => {
    expect(route('PUT', 'k', '', { 'x-amz-tagging': 'a=b' })).toBe('NotImplemented');
    expect(route('PUT', 'k', '', { 'x-amz-tagging': 'a=b', 'x-amz-copy-source': '/alpha/src' })).toBe('NotImplemented');
    expect(route('POST', 'k', 'uploads', { 'x-amz-tagging': 'a=b' })).toBe('NotImplemented');
    // No tags, or a directive that asks for none: nothing is lost.
    expect(route('PUT', 'k', '', { 'x-amz-tagging': '' })).toBe('PutObject');
    expect(route('PUT', 'k', '', { 'x-amz-copy-source': '/alpha/src', 'x-amz-tagging-directive': 'REPLACE' })).toBe('CopyObject');
    // Parts carry no tags of their own.
    expect(route('PUT', 'k', 'partNumber=1&uploadId=u', { 'x-amz-tagging': 'a=b' })).toBe('UploadPart');
  });
});
