import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { DomainError } from '../../domain/errors.js';

/** Admin request bodies are small JSON documents. */
export const maxAdminBodyBytes = 1024 * 1024;

/** Any content type: operators send JSON with curl's default form content type too. An empty body is no body. */
export function parseJsonBody(_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    done(null, undefined);
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
