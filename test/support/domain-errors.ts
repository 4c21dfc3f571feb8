import { isDomainError, type DomainError } from '../../domain/errors.js';

/** The DomainError `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    if (isDomainError(e)) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}
