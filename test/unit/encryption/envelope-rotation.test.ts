import { describe, expect, test } from 'vitest';
import { EncryptionEnvelope } from '../../../domain/encryption/envelope.js';
import { rotationScope, type KeyringView } from '../../../domain/encryption/rotation-scope.js';

const salt = Buffer.alloc(16, 7).toString('base64');
const envelope = {
  format: 2,
  chunkSize: 65_536,
  headerLength: 82,
  key: { keyId: '0123456789abcdef', keyAlias: 'config-0', wrapScheme: 'aes256-kw', wrappedKey: Buffer.alloc(40, 1).toString('base64') },
  segments: [{ partNumber: 1, plainSize: 5, salt }, { partNumber: 3, plainSize: 0, salt }],
};

describe('envelope facts', () => {
  test('a recorded envelope parses', () => {
    expect(EncryptionEnvelope.parse(envelope)).toEqual(envelope);
  });

  test('a well-formed envelope is taken as it is; unknown fields are stripped as zod strips them', () => {
    expect(EncryptionEnvelope.parse(envelope)).toBe(envelope);
    const withExtra = { ...envelope, note: 'x', key: { ...envelope.key, extra: 1 } };
    expect(EncryptionEnvelope.parse(withExtra)).toEqual(envelope);
  });

  test.each([
    ['a wrapped key that is not base64', { key: { ...envelope.key, wrappedKey: 'not base64!' } }, 'key.wrappedKey'],
    ['a salt of the wrong length', { segments: [{ partNumber: 1, plainSize: 1, salt: 'AAAA' }] }, 'segments.0.salt'],
    ['a fractional plain size', { segments: [{ partNumber: 1, plainSize: 1.5, salt }] }, 'segments.0.plainSize'],
    ['a part number above 10,000', { segments: [{ partNumber: 10_001, plainSize: 1, salt }] }, 'segments.0.partNumber'],
    ['an unknown wrap scheme', { key: { ...envelope.key, wrapScheme: 'rot13' } }, 'key.wrapScheme'],
    ['a header length too short for a wrapped key', { headerLength: 42 }, 'headerLength'],
    ['another format', { format: 1 }, 'format'],
    ['part numbers that do not ascend', { segments: [{ partNumber: 2, plainSize: 1, salt }, { partNumber: 2, plainSize: 1, salt }] }, 'segments.1.partNumber'],
    ['a single-PUT segment among parts', { segments: [{ partNumber: 0, plainSize: 1, salt }, { partNumber: 1, plainSize: 1, salt }] }, 'segments'],
    ['a chunk size that is not a power of two', { chunkSize: 5000 }, 'chunkSize'],
    ['a key id that is a position, not a fingerprint', { key: { ...envelope.key, keyId: 'config-0' } }, 'key.keyId'],
    ['no segments', { segments: [] }, 'segments'],
  ])('%s is refused', (_name, change, path) => {
    const result = EncryptionEnvelope.safeParse({ ...envelope, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

/** The keyring after the manual's rotation step: K2 is the new primary, K1 moved to previous_keys. */
const afterRotationStep: KeyringView = {
  primaryKeyId: 'k2k2k2k2k2k2k2k2',
  resolve: (id) => ({ 'config-0': 'k2k2k2k2k2k2k2k2', 'config-1': 'k1k1k1k1k1k1k1k1' } as Record<string, string>)[id]
    ?? (['k1k1k1k1k1k1k1k1', 'k2k2k2k2k2k2k2k2'].includes(id) ? id : undefined),
};

describe('rotation scope', () => {
  const byOldPrimary = { keyId: 'k1k1k1k1k1k1k1k1', keyAlias: 'config-0' };
  const byNewPrimary = { keyId: 'k2k2k2k2k2k2k2k2', keyAlias: 'config-0' };
  const byRetiredKey = { keyId: 'k0k0k0k0k0k0k0k0', keyAlias: 'config-0' };
  const byVault = { keyId: 'v0v0v0v0v0v0v0v0', keyAlias: 's3o' };

  test('--old-key-id config-0 after the manual\'s step re-wraps what config-0 was, not the new config-0', () => {
    const scope = rotationScope('config-0', afterRotationStep);
    expect(scope.resolvedKeyId).toBe('k2k2k2k2k2k2k2k2');
    expect([byOldPrimary, byNewPrimary, byRetiredKey, byVault].map(scope.selects)).toEqual([true, false, true, false]);
  });

  test('a previous key\'s alias or fingerprint selects that key\'s wraps', () => {
    for (const id of ['config-1', 'k1k1k1k1k1k1k1k1']) {
      const scope = rotationScope(id, afterRotationStep);
      expect(scope.resolvedKeyId).toBe('k1k1k1k1k1k1k1k1');
      expect([byOldPrimary, byNewPrimary, byRetiredKey, byVault].map(scope.selects)).toEqual([true, false, false, false]);
    }
  });

  test('the primary key\'s fingerprint and unknown ids select nothing to re-wrap', () => {
    expect([byOldPrimary, byNewPrimary].some(rotationScope('k2k2k2k2k2k2k2k2', afterRotationStep).selects)).toBe(false);
    const unknown = rotationScope('nope', afterRotationStep);
    expect(unknown.resolvedKeyId).toBeUndefined();
    expect([byOldPrimary, byNewPrimary, byRetiredKey, byVault].some(unknown.selects)).toBe(false);
  });
});
