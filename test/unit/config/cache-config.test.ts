import { describe, expect, test } from 'vitest';
import { configOf, errorsOf, withSections } from './config-fixtures.js';

describe('the cache section', () => {
  test('an enabled cache is accepted with its sizes and TTL', () => {
    const config = configOf(withSections({ cache: { enabled: true, max_size: '64MiB', max_object_size: '1MiB', ttl: '30s' } }));
    expect(config.cache).toEqual({ enabled: true, max_size: 64 * 2 ** 20, max_object_size: 2 ** 20, ttl: 30_000 });
  });

  test.each([
    [{ max_size: 'lots' }, 'cache.max_size: must be a size'],
    [{ max_size: 0 }, 'cache.max_size: must be'],
    [{ max_object_size: '2MiB', max_size: '1MiB' }, 'cache.max_object_size: must not be larger than cache.max_size'],
    [{ ttl: '0s' }, 'cache.ttl: must be'],
    [{ ttl: 'forever' }, 'cache.ttl: must be a duration'],
    [{ max_entries: 10 }, 'cache'],
  ])('%j is refused, naming the field', (fields, message) => {
    const errors = errorsOf(withSections({ cache: { enabled: true, ...fields } }));
    expect(errors.some((e) => e.startsWith(message)), errors.join('\n')).toBe(true);
  });
});
