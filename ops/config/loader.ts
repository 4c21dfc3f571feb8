/**
 * Reads a config: `${ENV}` expansion → YAML → each section validated on its own (strict:
 * unknown keys are errors) → not-implemented features → cross-field rules. Every problem
 * is collected and reported with its field path; nothing is thrown for a bad config.
 */
import { readFile } from 'node:fs/promises';
import { expandEnv, type Substitution } from './env.js';
import { fromZod, unknownKeyIssue, type ConfigIssue } from './issues.js';
import { notImplementedFeatures } from './not-implemented.js';
import { crossFieldRules } from './rules.js';
import { sectionNames, sectionSchemas, type SectionName } from './schema/index.js';
import type { Config } from '../../domain/config/config.js';
import { parseYaml, type ValueSpan } from './yaml-source.js';

export type ConfigResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[]; readonly warnings: string[] };

/** Which variables each field's text came from, by field path. */
function originsByPath(substitutions: readonly Substitution[], spans: readonly ValueSpan[]): Map<string, Substitution[]> {
  const origins = new Map<string, Substitution[]>();
  for (const substitution of substitutions) {
    const span = spans.find((s) => substitution.start >= s.start && substitution.end <= s.end);
    if (!span) continue;
    origins.set(span.path, [...(origins.get(span.path) ?? []), substitution]);
  }
  return origins;
}

function describeVariable(substitution: Substitution): string {
  if (substitution.set) return `\${${substitution.name}}${substitution.start === substitution.end ? ', which is empty' : ''}`;
  return `\${${substitution.name}}, which is not set${substitution.hasDefault ? ' (its default was used)' : ''}`;
}

/** Adds where a field's value came from when it was (partly) an environment variable. */
function withOrigin(problem: ConfigIssue, origins: Map<string, Substitution[]>): string {
  if (problem.unknownKey || problem.path === '') return problem.text;
  const own = origins.get(problem.path);
  if (own) return `${problem.text} (${own.some((s) => !s.set) ? 'from' : 'value from'} ${own.map(describeVariable).join(', ')})`;
  const notes: string[] = [];
  for (const [path, substitutions] of origins) {
    const rest = path.startsWith(`${problem.path}.`) ? path.slice(problem.path.length + 1) : undefined;
    if (rest === undefined || /[.[]/.test(rest)) continue;
    for (const s of substitutions) if (!s.set && !s.hasDefault) notes.push(`${path} is ${describeVariable(s)}`);
  }
  return notes.length > 0 ? `${problem.text} (${notes.join('; ')})` : problem.text;
}

function unsetVariableWarnings(substitutions: readonly Substitution[]): string[] {
  const lines = new Map<string, number[]>();
  for (const s of substitutions) {
    if (!s.set && !s.hasDefault) lines.set(s.name, [...(lines.get(s.name) ?? []), s.line]);
  }
  return [...lines].map(([name, at]) =>
    `environment variable ${name} is not set (line ${[...new Set(at)].join(', ')}); it expanded to an empty string`);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function parseSection<K extends SectionName>(name: K, input: unknown, into: { -readonly [P in SectionName]?: Config[P] }): ConfigIssue[] {
  const schema = sectionSchemas[name];
  const result = schema.safeParse(input);
  if (result.success) {
    into[name] = result.data as Config[K];
    return [];
  }
  return fromZod(result.error, schema, [name]);
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const expansion = expandEnv(text, env);
  const yaml = parseYaml(expansion.text);
  const warnings = [...unsetVariableWarnings(expansion.substitutions), ...yaml.warnings];
  if (expansion.errors.length > 0 || yaml.errors.length > 0) {
    return { ok: false, errors: [...expansion.errors, ...yaml.errors], warnings };
  }

  const tree = yaml.tree;
  const problems: ConfigIssue[] = [];
  for (const key of Object.keys(tree)) {
    if (!(sectionNames as string[]).includes(key)) problems.push(unknownKeyIssue([], key, sectionNames));
  }
  const sections: { -readonly [P in SectionName]?: Config[P] } = {};
  for (const name of sectionNames) problems.push(...parseSection(name, tree[name], sections));
  for (const feature of notImplementedFeatures) {
    for (const path of feature.activeAt(tree)) problems.push({ path, text: `${path}: ${feature.message}` });
  }
  for (const rule of crossFieldRules) rule({ sections, tree, errors: problems, warnings });

  if (problems.length > 0) {
    const origins = originsByPath(expansion.substitutions, yaml.spans);
    return { ok: false, errors: [...new Set(problems.map((p) => withOrigin(p, origins)))], warnings };
  }
  const missing = sectionNames.filter((name) => !(name in sections));
  if (missing.length > 0) return { ok: false, errors: missing.map((name) => `${name}: could not be read`), warnings };
  return { ok: true, config: deepFreeze(sections as Config), warnings };
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    return { ok: false, errors: [`cannot read config file ${path}: ${reason}`], warnings: [] };
  }
  return parseConfigText(text, env);
}
