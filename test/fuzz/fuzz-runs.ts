import type { Parameters } from 'fast-check';
import { errorCatalogue, isDomainError } from '../../domain/errors.js';

/**
 * How many cases each fuzz property runs: `base` in `npm test` (seconds per target), `base` ×
 * `S3O_FUZZ_SCALE` under `npm run fuzz` (vitest.fuzz.config.ts sets it). A failure prints its
 * seed and path; `S3O_FUZZ_SEED` and `S3O_FUZZ_PATH` replay exactly that case.
 */
export function fuzzRuns<T = unknown>(base: number): Parameters<T> {
  const scale = Number(process.env.S3O_FUZZ_SCALE ?? '1');
  const params: Parameters<T> = { numRuns: Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1))) };
  if (process.env.S3O_FUZZ_SEED !== undefined) params.seed = Number(process.env.S3O_FUZZ_SEED);
  if (process.env.S3O_FUZZ_PATH !== undefined) params.path = process.env.S3O_FUZZ_PATH;
  return params;
}

/** A test timeout that grows with the scale, for targets whose cases are slow (HTTP). */
export function fuzzTimeout(baseMs: number): number {
  const scale = Number(process.env.S3O_FUZZ_SCALE ?? '1');
  return Math.round(baseMs * Math.max(1, Number.isFinite(scale) ? scale : 1));
}

/**
 * Runs a parser on hostile input: it returns, or throws a DomainError whose status is a client
 * error (4xx). Anything else — a TypeError, a RangeError, an InternalError — would be a 500.
 */
export function clientOutcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; code: string } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!isDomainError(e)) throw e;
    const status = errorCatalogue[e.code].status;
    if (status < 400 || status >= 500) throw new Error(`${e.code} (${status}) is not a client error: ${e.message}`);
    return { ok: false, code: e.code };
  }
}
