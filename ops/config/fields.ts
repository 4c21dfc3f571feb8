/**
 * Field schemas shared by every config section. Each converts one YAML value into its
 * normalized form (durations → ms, sizes → bytes) with a message an operator can act on,
 * and never quotes a value that could be secret (only a rejected enum choice is echoed).
 * A missing value takes the field's default or is reported as required.
 */
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';
import { PlainScalar } from './yaml-source.js';

type Converted<T> = { readonly value: T } | { readonly problem: string };

function field<T>(convert: (raw: unknown) => Converted<T>, missing: Converted<T>): z.ZodType<T> {
  return z.unknown().optional().transform((raw, ctx): T => {
    const result = raw === undefined ? missing : convert(raw);
    if ('problem' in result) {
      ctx.issues.push({ code: 'custom', message: result.problem, input: undefined });
      return z.NEVER;
    }
    return result.value;
  });
}

const required = { problem: 'is required' } as const;

/** The text of a scalar as written (unquoted numbers and booleans keep their source). */
export function asText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (raw instanceof PlainScalar) return raw.source;
  return undefined;
}

function asNumber(raw: unknown): number | undefined {
  if (raw instanceof PlainScalar) return typeof raw.value === 'number' ? raw.value : undefined;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) return Number(raw);
  return undefined;
}

/** A text value that must be present and non-empty. */
export function requiredText(): z.ZodType<string> {
  return field<string>((raw) => {
    const text = asText(raw);
    if (text === undefined) return { problem: 'must be a string' };
    return text === '' ? required : { value: text };
  }, required);
}

/** A text value that may be left out; empty means not set. */
export function optionalText(): z.ZodType<string | null> {
  return field<string | null>((raw) => {
    const text = asText(raw);
    if (text === undefined) return { problem: 'must be a string' };
    return { value: text === '' ? null : text };
  }, { value: null });
}

/** A text value with a default; empty means the default. */
export function text(fallback: string): z.ZodType<string> {
  return field<string>((raw) => {
    const value = asText(raw);
    if (value === undefined) return { problem: 'must be a string' };
    return { value: value === '' ? fallback : value };
  }, { value: fallback });
}

export function oneOf<const T extends readonly string[]>(values: T, fallback: T[number]): z.ZodType<T[number]> {
  return field<T[number]>((raw) => {
    const value = asText(raw);
    if (value === '') return { value: fallback };
    if (value !== undefined && (values as readonly string[]).includes(value)) return { value: value as T[number] };
    return { problem: `must be one of: ${values.join(', ')}${value === undefined ? '' : ` (got "${value.slice(0, 40)}")`}` };
  }, { value: fallback });
}

const yes = new Set(['true', 'yes', 'on']);
const no = new Set(['false', 'no', 'off']);

/** A scalar read as a boolean (also yes/no/on/off); undefined if it is not one. */
export function asFlag(raw: unknown): boolean | undefined {
  if (raw instanceof PlainScalar && typeof raw.value === 'boolean') return raw.value;
  if (typeof raw === 'boolean') return raw;
  const word = asText(raw)?.trim().toLowerCase();
  if (word !== undefined && yes.has(word)) return true;
  if (word !== undefined && no.has(word)) return false;
  return undefined;
}

/** A boolean; also accepts yes/no/on/off like the original's YAML 1.1 decoder. */
export function flag(fallback: boolean): z.ZodType<boolean> {
  return field<boolean>((raw) => {
    const value = asFlag(raw);
    return value === undefined ? { problem: 'must be true or false' } : { value };
  }, { value: fallback });
}

/** A boolean that may be left out (its default depends on other keys). */
export function optionalFlag(): z.ZodType<boolean | null> {
  return field<boolean | null>((raw) => {
    const value = asFlag(raw);
    return value === undefined ? { problem: 'must be true or false' } : { value };
  }, { value: null });
}

function lowerBoundProblem(value: number, min: number): string | undefined {
  if (value >= min) return undefined;
  if (min === 1) return 'must be > 0';
  if (min === 0) return 'must not be negative';
  return `must be at least ${min}`;
}

export interface IntegerOptions {
  readonly min?: number;
  readonly max?: number;
}

function convertInteger(raw: unknown, options: IntegerOptions): Converted<number> {
  const value = asNumber(raw);
  if (value === undefined || !Number.isSafeInteger(value)) return { problem: 'must be a whole number' };
  const low = options.min === undefined ? undefined : lowerBoundProblem(value, options.min);
  if (low) return { problem: low };
  if (options.max !== undefined && value > options.max) return { problem: `must be at most ${options.max}` };
  return { value };
}

export function integer(fallback: number, options: IntegerOptions = {}): z.ZodType<number> {
  return field<number>((raw) => convertInteger(raw, options), { value: fallback });
}

export function requiredInteger(options: IntegerOptions = {}): z.ZodType<number> {
  return field<number>((raw) => convertInteger(raw, options), required);
}

export function optionalInteger(options: IntegerOptions = {}): z.ZodType<number | null> {
  return field<number | null>((raw) => convertInteger(raw, options), { value: null });
}

export interface RangeOptions {
  readonly min: number;
  readonly max: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

/** A decimal number inside a range, e.g. `[0, 1)`. */
export function fraction(fallback: number, range: RangeOptions): z.ZodType<number> {
  const label = `${range.minExclusive ? '(' : '['}${range.min}, ${range.max}${range.maxExclusive ? ')' : ']'}`;
  return field<number>((raw) => {
    const value = asNumber(raw);
    if (value === undefined || !Number.isFinite(value)) return { problem: 'must be a number' };
    const tooLow = range.minExclusive ? value <= range.min : value < range.min;
    const tooHigh = range.maxExclusive ? value >= range.max : value > range.max;
    return tooLow || tooHigh ? { problem: `must be in ${label}` } : { value };
  }, { value: fallback });
}

/** A positive decimal number (e.g. requests per second). */
export function positiveNumber(fallback: number): z.ZodType<number> {
  return field<number>((raw) => {
    const value = asNumber(raw);
    if (value === undefined || !Number.isFinite(value)) return { problem: 'must be a number' };
    return value > 0 ? { value } : { problem: 'must be > 0' };
  }, { value: fallback });
}

export interface AmountOptions {
  /** `positive`: > 0; default: ≥ 0. */
  readonly positive?: boolean;
}

const durationHint = 'must be a duration such as 500ms, 30s, 5m or 1h30m, or a number of seconds';

/** A duration in milliseconds; `fallback` is written as in the config file. */
export function duration(fallback: string | number, options: AmountOptions = {}): z.ZodType<number> {
  const fallbackMs = parseDuration(fallback);
  if (fallbackMs === undefined) throw new Error(`bad default duration ${String(fallback)}`);
  return field<number>((raw) => {
    const source = raw instanceof PlainScalar ? raw.value : raw;
    const ms = typeof source === 'number' || typeof source === 'string' ? parseDuration(source) : undefined;
    if (ms === undefined) return { problem: durationHint };
    if (ms < 0) return { problem: 'must not be negative' };
    if (options.positive && ms === 0) return { problem: 'must be > 0' };
    return { value: ms };
  }, { value: fallbackMs });
}

const sizeHint = 'must be a size: a number of bytes, or a number with a unit such as 256MB or 10MiB';

/** A size in bytes; `fallback` is written as in the config file. */
export function size(fallback: string | number, options: AmountOptions = {}): z.ZodType<number> {
  const fallbackBytes = parseSize(fallback);
  if (fallbackBytes === undefined) throw new Error(`bad default size ${String(fallback)}`);
  return field<number>((raw) => {
    const source = raw instanceof PlainScalar ? raw.value : raw;
    const bytes = typeof source === 'number' || typeof source === 'string' ? parseSize(source) : undefined;
    if (bytes === undefined) return { problem: sizeHint };
    if (bytes < 0) return { problem: 'must not be negative' };
    if (options.positive && bytes === 0) return { problem: 'must be > 0' };
    return { value: bytes };
  }, { value: fallbackBytes });
}

/** A nested mapping; absent means all its defaults. */
export function section<T>(schema: z.ZodType<T>): z.ZodType<T> {
  return z.preprocess((value) => value ?? {}, schema);
}

/** A list; absent means empty. */
export function list<T extends z.ZodType>(item: T): z.ZodType<z.output<T>[]> {
  return z.array(item).default([]);
}

/** `host:port` or `:port`. */
export function listenAddress(fallback: string | null): z.ZodType<string | null> {
  return field<string | null>((raw) => {
    const value = asText(raw);
    if (value === undefined) return { problem: 'must be a string' };
    if (value === '') return { value: fallback };
    const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]*):(\d{1,5})$/.exec(value);
    if (!match || Number(match[2]) > 65_535) return { problem: 'must be host:port or :port, e.g. ":9000" or "127.0.0.1:9000"' };
    return { value };
  }, { value: fallback });
}
