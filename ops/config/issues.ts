/**
 * Validation problems: each names the field by its path in the config file
 * (`backends[1].quota_bytes`). Messages never quote a configured value that could be secret.
 */
import type { z } from 'zod';
import { formatPath } from './yaml-source.js';

export interface ConfigIssue {
  /** Field path, '' for the whole file. */
  readonly path: string;
  /** The full line shown to the operator. */
  readonly text: string;
  readonly unknownKey?: boolean;
}

export function issue(path: string, message: string): ConfigIssue {
  return { path, text: path === '' ? message : `${path}: ${message}` };
}

interface SchemaInternals {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly in?: SchemaInternals;
      readonly out?: unknown;
      readonly innerType?: unknown;
      readonly shape?: Readonly<Record<string, unknown>>;
      readonly element?: unknown;
    };
  };
}

function unwrap(schema: unknown): SchemaInternals['_zod']['def'] | undefined {
  let current = schema as SchemaInternals | undefined;
  for (let depth = 0; current && depth < 20; depth += 1) {
    const def = current._zod.def;
    if (def.type === 'object' || def.type === 'array') return def;
    const next = def.type === 'pipe' ? (def.in?._zod.def.type === 'transform' ? def.out : def.in) : def.innerType;
    current = next as SchemaInternals | undefined;
  }
  return undefined;
}

/** The keys a strict object schema accepts at `path` (used to suggest a fix for a typo). */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): readonly string[] {
  let def = unwrap(schema);
  for (const part of path) {
    if (!def) return [];
    def = unwrap(typeof part === 'number' ? def.element : def.shape?.[String(part)]);
  }
  return def?.shape ? Object.keys(def.shape) : [];
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(unknown.toLowerCase(), key);
    if (distance <= Math.max(1, Math.floor(key.length / 3)) && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

export function unknownKeyIssue(parentPath: readonly PropertyKey[], key: string, known: readonly string[]): ConfigIssue {
  const suggestion = suggestKey(key, known);
  const path = formatPath([...parentPath, key]);
  return { ...issue(path, `unknown key${suggestion ? ` (did you mean ${suggestion}?)` : ''}`), unknownKey: true };
}

function typeMessage(expected: string): string {
  if (expected === 'object') return 'must be a mapping of keys to values';
  if (expected === 'array') return 'must be a list';
  return `must be a ${expected}`;
}

/** Converts zod's issues for one section into config issues, one per unknown key. */
export function fromZod(error: z.ZodError, schema: unknown, prefix: readonly PropertyKey[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const zodIssue of error.issues) {
    const relative = zodIssue.path;
    const path = [...prefix, ...relative];
    if (zodIssue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, relative);
      for (const key of zodIssue.keys) out.push(unknownKeyIssue(path, key, known));
    } else if (zodIssue.code === 'invalid_type') {
      out.push(issue(formatPath(path), typeMessage(zodIssue.expected)));
    } else {
      out.push(issue(formatPath(path), zodIssue.message));
    }
  }
  return out;
}
