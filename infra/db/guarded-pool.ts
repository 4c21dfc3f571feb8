import type pg from 'pg';
import { StoreUnavailableError } from '../../domain/eventstore/errors.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { isUnavailable } from './pool.js';

/**
 * Puts the database behind a circuit breaker: after consecutive "unreachable" failures every
 * query fails at once with StoreUnavailableError (no waiting for connection timeouts), until a
 * probe after the open timeout succeeds. Query errors that are answers (constraint violations,
 * refused appends) count as the database being up.
 */
export function guardPool(pool: pg.Pool, breaker: CircuitBreaker): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient> | undefined;
  const observe = <T>(p: Promise<T>): Promise<T> =>
    p.then(
      (r) => {
        breaker.recordSuccess();
        return r;
      },
      (err: unknown) => {
        if (!isUnavailable(err)) {
          breaker.recordSuccess();
          throw err;
        }
        breaker.recordFailure();
        throw new StoreUnavailableError('the database is unavailable', { cause: err });
      },
    );
  const refuse = () => Promise.reject(new StoreUnavailableError('the database is unavailable (circuit open)'));
  Object.assign(pool, {
    query: (...args: unknown[]) => (breaker.allow() ? observe(query(...args)) : refuse()),
    // pg-pool's own query() calls connect(callback): that path is already guarded by query.
    connect: (...args: unknown[]) => (args.length > 0 ? connect(...args) : breaker.allow() ? observe(connect() as Promise<pg.PoolClient>) : refuse()),
  });
  return pool;
}
