/**
 * `${ENV}` expansion of the config text before it is parsed, as the original did with
 * os.Expand — with three differences that make the textual substitution safer:
 *
 * - Only `${NAME}` and `${NAME:-default}` are references; a bare `$NAME` is left alone (a
 *   bcrypt hash such as `$2a$10$…` survives), and `$${` writes a literal `${`.
 * - A value substituted inside a quoted YAML scalar is escaped for that quoting style, so
 *   `password: "${DB_PASSWORD}"` holds any value, including quotes, backslashes, `:` and `#`.
 *   `'…'` holds any value without a line break (YAML folds one into a space there, so such a
 *   value is an error naming the variable).
 *   Unquoted, the value is inserted as-is and must itself be valid YAML there: quote your
 *   `${}` whenever the value may contain `: `, ` #`, quotes or a leading special character.
 * - References inside comments are not expanded.
 *
 * An unset variable without a default expands to the empty string, like the original; the
 * loader reports any required field left empty and names the variable.
 */
import { CST, Lexer } from 'yaml';

export interface Substitution {
  readonly name: string;
  /** Span of the substituted text in the expanded output. */
  readonly start: number;
  readonly end: number;
  readonly line: number;
  /** False when the variable was unset (or empty with `:-`) and the default or '' was used. */
  readonly set: boolean;
  readonly hasDefault: boolean;
}

export interface Expansion {
  readonly text: string;
  readonly substitutions: readonly Substitution[];
  readonly errors: readonly string[];
}

type Context = 'double' | 'single' | 'comment';

interface Region {
  readonly start: number;
  readonly end: number;
  readonly context: Context;
}

const zeroWidthTokens = new Set(['doc-mode', 'flow-error-end', 'scalar']);

/** Quoted scalars and comments in the unexpanded text, found with the YAML lexer. */
function quotedAndCommentRegions(raw: string): Region[] {
  const regions: Region[] = [];
  let offset = 0;
  for (const token of new Lexer().lex(raw)) {
    const type = CST.tokenType(token);
    if (type && zeroWidthTokens.has(type) && token.length === 1) continue;
    if (type === 'double-quoted-scalar') regions.push({ start: offset, end: offset + token.length, context: 'double' });
    else if (type === 'single-quoted-scalar') regions.push({ start: offset, end: offset + token.length, context: 'single' });
    else if (type === 'comment') regions.push({ start: offset, end: offset + token.length, context: 'comment' });
    offset += token.length;
  }
  return regions;
}

function contextAt(regions: readonly Region[], offset: number): Context | 'plain' {
  for (const region of regions) {
    if (offset >= region.start && offset < region.end) return region.context;
  }
  return 'plain';
}

function escapeFor(context: Context | 'plain', value: string): string {
  if (context === 'double') return JSON.stringify(value).slice(1, -1);
  if (context === 'single') return value.replaceAll("'", "''");
  return value;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

export function expandEnv(raw: string, env: NodeJS.ProcessEnv): Expansion {
  const regions = quotedAndCommentRegions(raw);
  const substitutions: Substitution[] = [];
  const errors: string[] = [];
  let out = '';
  let last = 0;
  for (const match of raw.matchAll(/\$\$\{|\$\{([^}\n]*)\}/g)) {
    const at = match.index;
    const context = contextAt(regions, at);
    out += raw.slice(last, at);
    last = at + match[0].length;
    if (context === 'comment') {
      out += match[0];
      continue;
    }
    if (match[0] === '$${') {
      out += '${';
      continue;
    }
    const inner = match[1] ?? '';
    const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/.exec(inner);
    if (!reference) {
      errors.push(`line ${lineOf(raw, at)}: invalid variable reference "\${${inner.slice(0, 40)}}" (write \${NAME} or \${NAME:-default}; $\${ writes a literal \${)`);
      out += match[0];
      continue;
    }
    const name = reference[1] ?? '';
    const fallback = reference[2];
    const value = env[name];
    const useFallback = value === undefined || (fallback !== undefined && value === '');
    if (!useFallback && context === 'single' && /[\r\n]/.test(value)) {
      // YAML folds a line break inside '…' into a space: the value would arrive changed. Left
      // out, so the rest of the file still parses and this is the one error reported.
      errors.push(`line ${lineOf(raw, at)}: \${${name}} holds a line break, which a '…' scalar cannot carry; quote it with "…" instead`);
      continue;
    }
    const text = useFallback ? (fallback ?? '') : escapeFor(context, value);
    substitutions.push({ name, start: out.length, end: out.length + text.length, line: lineOf(raw, at), set: !useFallback, hasDefault: fallback !== undefined });
    out += text;
  }
  out += raw.slice(last);
  return { text: out, substitutions, errors };
}
