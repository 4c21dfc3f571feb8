/**
 * Turns the (already env-expanded) config text into a plain tree for validation.
 *
 * Unquoted numbers and booleans keep their source text (`PlainScalar`), because a field's
 * type decides what a scalar means, as it did in the Go original: `min_version: 1.2` is the
 * string "1.2", and a numeric password such as `0123` keeps its leading zero. A mapping value
 * that is empty or `null` becomes `undefined` (the key stays, so unknown keys are still
 * reported) and then means "not set". Parse errors carry a line and column but never the
 * offending line's text, which may hold a secret.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';
import type { Document, Node, ScalarTag, Tags } from 'yaml';

export class PlainScalar {
  constructor(readonly value: number | boolean, readonly source: string) {}
}

/** Where a scalar value sits in the text: the span from its key to the end of its value. */
export interface ValueSpan {
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

export interface ParsedYaml {
  readonly tree: Record<string, unknown>;
  readonly spans: readonly ValueSpan[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

function keepSourceOfPlainScalars(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || !/:(int|float|bool)$/.test(tag.tag) || ('collection' in tag && tag.collection)) return tag;
    const scalarTag = tag as ScalarTag;
    const resolve = scalarTag.resolve.bind(scalarTag);
    const wrapped: ScalarTag = {
      ...scalarTag,
      resolve: (source, onError, options) => {
        const resolved = resolve(source, onError, options);
        const value: unknown = resolved instanceof Scalar ? resolved.value : resolved;
        return typeof value === 'number' || typeof value === 'boolean' ? new PlainScalar(value, source) : value;
      },
    };
    return wrapped;
  });
}

/** Mapping values that are null mean "not set"; list items stay as they are. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object' && !(value instanceof PlainScalar)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = inner === null ? undefined : normalize(inner);
    return out;
  }
  return value;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function collectSpans(node: unknown, path: readonly (string | number)[], out: ValueSpan[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.value === '<<') continue;
      const keyRange = pair.key.range;
      const childPath = [...path, String(pair.key.value)];
      const value = pair.value as Node | null;
      if (isMap(value) || isSeq(value)) collectSpans(value, childPath, out);
      else if (keyRange && !isAlias(value)) {
        const end = value?.range ? value.range[1] : keyRange[2];
        out.push({ path: formatPath(childPath), start: keyRange[1], end });
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const childPath = [...path, index];
      if (isMap(item) || isSeq(item)) collectSpans(item, childPath, out);
      else if (isScalar(item) && item.range) out.push({ path: formatPath(childPath), start: item.range[0], end: item.range[1] });
    });
  }
}

function describe(lines: LineCounter, offset: number, message: string): string {
  const { line, col } = lines.linePos(offset);
  return `line ${line}, column ${col}: ${message}`;
}

export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    customTags: keepSourceOfPlainScalars,
  });
  const warnings = doc.warnings.map((w) => describe(lines, w.pos[0], w.message));
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => describe(lines, e.pos[0], e.message));
    return { tree: {}, spans: [], errors, warnings };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { tree: {}, spans: [], errors: [`cannot read the YAML: ${(error as Error).message}`], warnings };
  }
  if (value === null || value === undefined) return { tree: {}, spans: [], errors: [], warnings };
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof PlainScalar) {
    return { tree: {}, spans: [], errors: ['the config must be a mapping of sections (server:, buckets:, backends:, …)'], warnings };
  }
  const spans: ValueSpan[] = [];
  collectSpans(doc.contents, [], spans);
  return { tree: normalize(value) as Record<string, unknown>, spans, errors: [], warnings };
}
