import { configDefaults, defineConfig } from 'vitest/config';
import { slowTestFiles } from './test/slow-files.js';
import LongestFirst from './test/support/longest-first.js';

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
    // Each worker process runs many files and imports the product once: importing it (≈2.4 s of
    // CPU) for each of ~160 files was a fifth of the run. Files share no state through modules:
    // each starts its own orchestrator on its own database and stops it.
    isolate: false,
    sequence: { sequencer: LongestFirst },
    reporters: ['default'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
