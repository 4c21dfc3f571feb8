import { describe, expect, it } from 'vitest';
import { compareKeys, prefixSuccessor } from '../../../domain/s3/key-order.js';

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('compareKeys', () => {
  it('given BMP-only strings, then the usual order', () => {
    expect(compareKeys('a', 'b')).toBeLessThan(0);
    expect(compareKeys('b', 'a')).toBeGreaterThan(0);
    expect(compareKeys('a', 'a')).toBe(0);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
    expect(compareKeys('', 'a')).toBeLessThan(0);
  });

  it('given an astral character against U+E000–U+FFFF, then UTF-8 byte order (where JS < disagrees)', () => {
    const astral = '😀'; // U+1F600, UTF-16 D83D DE00
    const privateUse = '\uE000';
    expect(astral < privateUse).toBe(true); // JS code-unit order
    expect(compareKeys(astral, privateUse)).toBeGreaterThan(0); // code-point / UTF-8 order
    expect(compareKeys('\uFFFD', '𐀀')).toBeLessThan(0);
  });

  it('agrees with UTF-8 byte comparison on a mixed sample', () => {
    const sample = ['a', 'A', 'é', 'z', '\uE000', '\uFFFD', '😀', '𐀀', 'a/b', 'a/', 'a0', 'ab', '', '\u007F', '\u0080', '中', '中文', 'a😀', 'a\uE000'];
    const sorted = [...sample].sort(compareKeys);
    const reference = [...sample].sort(utf8Order);
    expect(sorted).toEqual(reference);
  });
});

describe('prefixSuccessor', () => {
  it.each([
    ['a/', 'a0'],
    ['photos/2026/', 'photos/20260'],
    ['abc', 'abd'],
    ['a\uD7FF', 'a\uE000'],
    ['a\uFFFF', 'a𐀀'],
    ['a\u{10FFFF}', 'b'],
  ])('given %j, then %j', (prefix, successor) => {
    expect(prefixSuccessor(prefix)).toBe(successor);
  });

  it('given an empty prefix or only U+10FFFF, then none', () => {
    expect(prefixSuccessor('')).toBeUndefined();
    expect(prefixSuccessor('\u{10FFFF}\u{10FFFF}')).toBeUndefined();
  });

  it('sorts after every extension of the prefix and after the prefix itself', () => {
    const prefix = 'dir/';
    const successor = prefixSuccessor(prefix) ?? '';
    for (const ext of ['', 'a', '\u{10FFFF}', '\uFFFF', '😀/x', 'zzzz']) {
      expect(compareKeys(prefix + ext, successor)).toBeLessThan(0);
    }
    expect(compareKeys('dir0', successor)).toBe(0);
  });
});
