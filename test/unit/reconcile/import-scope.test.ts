import { describe, expect, it } from 'vitest';
import { isMultipartTemporary, reconcileScope, syncScope } from '../../../processes/reconcile/import-scope.js';

describe('import scopes', () => {
  it('sync imports a foreign key into its bucket as found, and only our keys of that bucket', () => {
    const scope = syncScope('alpha', ['alpha', 'beta']);
    expect(scope.foreign('photos/2024/a.jpg')).toEqual({ bucket: 'alpha', key: 'photos/2024/a.jpg' });
    // Never re-prefixed: a backend laid out as `alpha/…` does not become `alpha/alpha/…`.
    expect(scope.foreign('alpha/x')).toEqual({ bucket: 'alpha', key: 'alpha/x' });
    expect(scope.foreign('k'.repeat(1025))).toBeUndefined();
    // Another configured bucket's prefix is that bucket's (the reconciler imports it there).
    expect(scope.foreign('beta/x')).toBeUndefined();
    expect(scope.foreign('betamax/x')).toEqual({ bucket: 'alpha', key: 'betamax/x' });
    expect(scope.ownBucket('alpha')).toBe(true);
    expect(scope.ownBucket('beta')).toBe(false);
  });

  it('reconcile maps `<bucket>/key` of configured buckets and skips everything else', () => {
    const scope = reconcileScope(['alpha', 'beta']);
    expect(scope.foreign('beta/sub/y.txt')).toEqual({ bucket: 'beta', key: 'sub/y.txt' });
    expect(scope.foreign('gamma/z.txt')).toBeUndefined();
    // The original imported these into the first bucket.
    expect(scope.foreign('loose.txt')).toBeUndefined();
    expect(scope.foreign('/x')).toBeUndefined();
    expect(scope.foreign('alpha/')).toBeUndefined();
    expect(scope.ownBucket('beta')).toBe(true);
    expect(scope.ownBucket('gamma')).toBe(false);
  });

  it('recognises multipart temporaries with or without a bucket prefix', () => {
    expect(isMultipartTemporary('__multipart/upload/1')).toBe(true);
    expect(isMultipartTemporary('alpha/__multipart/upload/1')).toBe(true);
    expect(isMultipartTemporary('alpha/docs/__multipart/1')).toBe(false);
    expect(isMultipartTemporary('alpha/__multipart')).toBe(false);
  });
});
