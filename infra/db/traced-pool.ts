import type pg from 'pg';
import { inChildSpan, inTracedRequest, SpanKind } from '../telemetry/spans.js';

/**
 * Gives each query a traced request makes a client span, `PostgreSQL query`, named by its first
 * keyword. Never the statement's values. Installed only while tracing is on; outside a traced
 * request a query runs as before. Appends run outside any request (group commit) and get their
 * `PostgreSQL append` spans there.
 */
export function tracePool(pool: pg.Pool): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(pool, {
    query: (...args: unknown[]) => {
      if (!inTracedRequest()) return query(...args);
      const statement = args[0] as string | { name?: string; text?: string } | undefined;
      const name = typeof statement === 'object' ? statement.name : undefined;
      const text = typeof statement === 'string' ? statement : statement?.text ?? '';
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
      return inChildSpan('PostgreSQL query', SpanKind.CLIENT,
        { 'db.system.name': 'postgresql', 'db.operation.name': operation, ...(name ? { 'db.query.name': name } : {}) }, () => query(...args));
    },
  });
  return pool;
}
