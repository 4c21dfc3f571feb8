import { describe, expect, it } from 'vitest';
import { moveIdFor, rewriteIdFor } from '../../../domain/objects/placement-ids.js';
import { placementStorageKey } from '../../../domain/objects/storage-keys.js';
import { sha256 } from '../../../infra/ids.js';

describe('placement ids', () => {
  it('are the ids jobs already recorded (a job resumed across an upgrade names the same moves)', () => {
    // Values computed before the rule moved into domain/.
    expect(moveIdFor(sha256, '01JOB', 'photos', 'a/b.jpg', '01WRITE', 'b1')).toBe('7E552E9DB3VA9X7JV6PQ3XDYA6');
  });

  it('differ for every part of what identifies the move', () => {
    const base = moveIdFor(sha256, 'j', 'b', 'k', 'w', 'from');
    for (const other of [
      moveIdFor(sha256, 'j2', 'b', 'k', 'w', 'from'), moveIdFor(sha256, 'j', 'b2', 'k', 'w', 'from'),
      moveIdFor(sha256, 'j', 'b', 'k2', 'w', 'from'), moveIdFor(sha256, 'j', 'b', 'k', 'w2', 'from'),
      moveIdFor(sha256, 'j', 'b', 'k', 'w', 'from2'), rewriteIdFor(sha256, 'j', 'b', 'k', 'w'),
    ]) expect(other).not.toBe(base);
  });

  it('are Crockford base32 ids a storage key accepts', () => {
    const id = moveIdFor(sha256, 'j', 'b', 'k', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'b1');
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(placementStorageKey('b', 'k', '01ARZ3NDEKTSV4RRFFQ69G5FAV', id)).toBe(`b/k~01ARZ3NDEKTSV4RRFFQ69G5FAV-${id}`);
  });
});
