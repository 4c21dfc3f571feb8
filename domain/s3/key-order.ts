/**
 * The order S3 lists keys in: by UTF-8 bytes, which is Unicode code-point order. JavaScript's
 * `<` compares UTF-16 code units and disagrees for astral characters (surrogates, U+D800–DFFF)
 * against U+E000–FFFF; PostgreSQL with `COLLATE "C"` on a UTF-8 database agrees with this file.
 */

const isSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdfff;

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in code-point order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate stands for a code point above U+FFFF, so it sorts after any BMP unit.
    const xs = isSurrogate(x);
    if (xs !== isSurrogate(y)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The smallest string that sorts after every string starting with `prefix`, or undefined when
 * there is none (empty prefix, or one made only of U+10FFFF). Lets a store bound a prefix scan
 * (`key >= prefix AND key < successor`) and skip past a whole common prefix in one seek.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix, (ch) => ch.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = points.pop() ?? 0;
    if (last === 0x10ffff) continue;
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    points.push(next);
    return String.fromCodePoint(...points);
  }
  return undefined;
}
