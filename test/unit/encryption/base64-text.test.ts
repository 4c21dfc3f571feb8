import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { EncryptionKeyFacts, isBase64Text } from '../../../domain/encryption/envelope.js';

/** The schema's own check of a base64 field (the pattern the hand check must agree with). */
const schemaAccepts = (text: string): boolean => text === '' || EncryptionKeyFacts.shape.wrappedKey.safeParse(text).success;

describe('isBase64Text (the envelope hand check of wrapped keys and salts)', () => {
  test.each([
    '', 'QUJD', 'QUI=', 'QQ==', 'QUJDRA==', 'a+/9', '====', 'Q===', 'QU=A', 'QUJ', 'QUJDR', 'QU JD', 'QU-_', 'QUJD\n', 'QUJD=', 'Q=Q=', '=QUJ',
  ])('%j as the schema says', (text) => {
    expect(isBase64Text(text)).toBe(schemaAccepts(text));
  });

  test('encodings of random bytes pass, and every one-char change of them is judged as the schema judges it', () => {
    const alphabet = 'ABCZabcz0189+/=-_ .\u00e9';
    for (let n = 0; n < 48; n += 1) {
      const text = randomBytes(n).toString('base64');
      expect(isBase64Text(text)).toBe(true);
      for (let at = 0; at < text.length; at += 1) {
        for (const c of alphabet) {
          const changed = text.slice(0, at) + c + text.slice(at + 1);
          expect(isBase64Text(changed), changed).toBe(schemaAccepts(changed));
        }
      }
    }
  });
});
