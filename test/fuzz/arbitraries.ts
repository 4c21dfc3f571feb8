import fc from 'fast-check';
import type { BackendCandidate } from '../../domain/placement/placement.js';
import { escape } from '../unit/auth/signing-support.js';

/** Generators, and the wire encodings SDKs use, shared by the fuzz targets. */

/** Characters JavaScript's \s matches: the SDK collapses them in header values, a server cannot know it did. */
const unicodeSpace = /[\s\u180e]/u;

/** One character of any script (a whole grapheme, so never a lone surrogate). */
export const anyChar = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 });

/** Text a header value can carry: printable ASCII, spaces and tabs (any run), and non-space Unicode. */
export const headerText = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
    { weight: 2, arbitrary: fc.constantFrom(' ', '  ', '\t', ' \t ') },
    { weight: 1, arbitrary: anyChar.filter((g) => !unicodeSpace.test(g)) },
  ),
  maxLength: 40,
});

/** Any Unicode text, heavy on the characters URL and query encodings treat specially. */
export const anyText = fc.string({
  unit: fc.oneof(fc.constantFrom('/', '%', '+', '=', '&', '?', '#', ' ', '~', '*', "'", '(', ')', '!', ';', ':', '@', ','), anyChar),
  maxLength: 16,
});

/** A lower-case header name. */
export const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

/** Query parameters as an SDK takes them (a name may repeat with several values). */
export const queryRecord = fc.dictionary(
  anyText.filter((k) => k !== '' && k.toLowerCase() !== 'x-amz-signature' && k !== '__proto__' && !k.startsWith('X-Amz-')),
  fc.oneof(anyText, fc.array(anyText, { minLength: 1, maxLength: 3 })),
  { maxKeys: 5 },
);

/** An object key of one to four non-empty segments. */
export const keyPath = fc.array(anyText.filter((s) => s !== ''), { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));

/** The query as an SDK puts it on the wire, parameters in any order. */
export function wireQuery(query: Record<string, string | string[]>, order: readonly number[] = []): string {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(query)) for (const value of Array.isArray(v) ? v : [v]) pairs.push(`${escape(k)}=${escape(value)}`);
  return order.length === 0 ? pairs.join('&') : pairs.map((p, i) => ({ p, o: order[i % order.length] ?? 0 })).sort((a, b) => a.o - b.o).map((x) => x.p).join('&');
}

/** A byte count: small ones, and ones far beyond any real quota. */
export const bytes = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 2 ** 50 }));

/** What the router knows of a backend, in any state. */
export const candidate: fc.Arbitrary<BackendCandidate> = fc.record({
  name: fc.stringMatching(/^b[0-9]{1,2}$/),
  order: fc.nat({ max: 50 }),
  state: fc.constantFrom('active', 'active', 'active', 'draining', 'drained', 'removed'),
  circuitOpen: fc.boolean(),
  quotaBytes: fc.oneof(fc.constant(0), bytes),
  usedBytes: bytes,
  orphanBytes: bytes,
  pendingBytes: bytes,
  usageExceeded: fc.boolean(),
  maxObjectSize: fc.oneof(fc.constant(0), bytes),
});
