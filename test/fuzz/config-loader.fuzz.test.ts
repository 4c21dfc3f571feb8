import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../ops/config/index.js';
import { baseConfig, secrets } from '../unit/config/config-fixtures.js';
import { anyChar } from './arbitraries.js';
import { fuzzRuns } from './fuzz-runs.js';

/**
 * The config loader: any text gives a config or a list of errors (never an exception); a changed
 * field is reported by its path and no error ever quotes a secret; an environment variable
 * inside a quoted scalar arrives exactly as it was set.
 */

const reference = readFileSync(new URL('../../ops/config/samples/reference.yaml', import.meta.url), 'utf8');
const secretValues = Object.values(secrets);

/** Every leaf of a plain config object, by its path in the loader's notation (`backends[1].quota_bytes`). */
function leaves(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, path === '' ? k : `${path}.${k}`));
  }
  return [path];
}

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
  let node = root as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts.at(-1) as string] = value;
}

const strangeValue = fc.oneof(
  fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}),
  fc.constantFrom(...secretValues), fc.constantFrom(...secretValues).map((s) => [s]), fc.constantFrom(...secretValues).map((s) => ({ [s]: s })),
  fc.constantFrom('-1', '1e309', '5XiB', '1h1h', 'NaN', '0x10', '${UNSET}', '$${X}', 'b1', 'photos', '', ' '),
);

describe('fuzz: config loader', () => {
  it('answers any text with a config or errors, never an exception', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => stringify(v)),
      fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.string({ unit: fc.oneof(fc.constantFrom(':', '-', ' ', '\n', '"', "'", '#', '[', '{', '&', '*', '!', '|', '>', '${', '}'), anyChar), maxLength: 20 }))
        .map(([at, cut, insert]) => { const i = at % reference.length; return reference.slice(0, i) + insert + reference.slice(i + cut); }),
    );
    fc.assert(fc.property(text, (t) => {
      const result = parseConfigText(t, {});
      if (!result.ok) {
        expect(result.errors.length).toBeGreaterThan(0);
        for (const e of result.errors) expect(typeof e === 'string' && e.length > 0).toBe(true);
      }
    }), fuzzRuns(120));
  });

  it('names a changed field by its path, and never quotes a secret in an error', () => {
    const base = baseConfig();
    const paths = leaves(base);
    fc.assert(fc.property(fc.constantFrom(...paths), strangeValue, (path, value) => {
      const config = structuredClone(base);
      setAt(config, path, value);
      const result = parseConfigText(stringify(config), {});
      if (result.ok) return;
      for (const e of [...result.errors, ...result.warnings]) {
        for (const secret of secretValues) expect(e).not.toContain(secret);
      }
      const section = path.split(/[.[]/)[0] as string;
      expect(result.errors.some((e) => e.startsWith(section)), result.errors.join('\n')).toBe(true);
    }), fuzzRuns(200));
  });

  it('hands an environment variable in a quoted scalar over exactly, whatever it holds (a line break only inside "…")', () => {
    const value = fc.string({ unit: fc.oneof(fc.constantFrom('"', "'", '\\', ':', ' #', '${', '}', '\n', '\t', '\r', '%', '&', '*', '!', '|', '>'), anyChar), minLength: 1, maxLength: 30 });
    fc.assert(fc.property(value, fc.constantFrom('"', "'"), (secret, quote) => {
      const config = baseConfig();
      setAt(config, 'backends[0].secret_access_key', 'PLACEHOLDER');
      const text = stringify(config).replace(/PLACEHOLDER/, `${quote}\${BACKEND_SECRET}${quote}`);
      const result = parseConfigText(text, { BACKEND_SECRET: secret });
      if (quote === "'" && /[\r\n]/.test(secret)) {
        // YAML folds line breaks inside '…': refused, naming the variable, never showing the value.
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.errors).toEqual([expect.stringContaining("${BACKEND_SECRET} holds a line break")]);
        return;
      }
      if (!result.ok) throw new Error(`refused: ${result.errors.join('; ')}`);
      expect(result.config.backends[0]?.secret_access_key).toBe(secret);
    }), fuzzRuns(120));
  });
});
