import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { DomainError } from '../../domain/errors.js';

/** Admin request bodies are small JSON documents. */
export const maxAdminBodyBytes = 1024 * 1024;

/**
 * A NUL character (`%00`) in the path or query: no bucket, key, backend, job or item id holds one,
 * and PostgreSQL text cannot, so it is refused before any lookup.
 */
export function nulInTarget(rawUrl: string): DomainError | undefined {
  const q = rawUrl.indexOf('?');
  const parts: [string, string][] = [['path', q === -1 ? rawUrl : rawUrl.slice(0, q)], ['query', q === -1 ? '' : rawUrl.slice(q + 1)]];
  for (const [field, raw] of parts) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      continue;
    }
    if (decoded.includes('\0')) return new DomainError('ValidationFailed', `${field}: must not contain a NUL character (%00)`, { field });
  }
  return undefined;
}

/** Any content type: operators send JSON with curl's default form content type too. An empty body is no body. */
export function parseJsonBody(_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    done(null, undefined);
    return;
  }
  if (/\0|\\u0000/i.test(body)) {
    done(new DomainError('ValidationFailed', 'the request body must not contain a NUL character', { field: 'body' }));
    return;
  }
  try {
    done(null, JSON.parse(body));
  } catch {
    done(new DomainError('ValidationFailed', 'the request body is not valid JSON', { field: 'body' }));
  }
}

/** Validates path parameters, query or body; the error names the first offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'path' | 'query' | 'body'): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  throw new DomainError('ValidationFailed', `${field}: ${issue?.message ?? 'is not valid'}`, { field });
}
