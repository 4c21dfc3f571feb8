import { configDefaults, defineConfig } from 'vitest/config';
import { slowTestFiles } from './test/slow-files.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // npm run test:slow (vitest.slow.config.ts) runs these.
    exclude: [...configDefaults.exclude, ...slowTestFiles],
    globalSetup: ['test/support/global-setup.ts', 'test/support/rgw-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
