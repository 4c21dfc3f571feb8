import { describe, expect, it } from 'vitest';
import { SERVER_MALLOC_TUNABLES, serverEnv } from '../../../bench/child.js';

/** Every server the bench starts gets one fixed glibc trim threshold, so no target's figures depend on its allocator's history. */
describe('bench server environment', () => {
  it('adds the fixed malloc trim threshold and keeps the rest of the environment', () => {
    const env = serverEnv({ PATH: '/bin', S3O_BENCH_PG_URL: 'postgres://x' });
    expect(env).toEqual({ PATH: '/bin', S3O_BENCH_PG_URL: 'postgres://x', GLIBC_TUNABLES: SERVER_MALLOC_TUNABLES });
    expect(SERVER_MALLOC_TUNABLES).toMatch(/^glibc\.malloc\.trim_threshold=\d+$/);
  });

  it('leaves GLIBC_TUNABLES the caller set alone', () => {
    expect(serverEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=1');
  });
});
