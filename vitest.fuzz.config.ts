import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run fuzz`: the fuzz targets under test/fuzz with S3O_FUZZ_SCALE times the cases
 * `npm test` runs (override it in the environment), and time to run them. File filters narrow
 * it to some targets (`npm run fuzz -- copy-source`).
 */
const fuzz = mergeConfig(base, defineConfig({
  test: {
    testTimeout: 3_600_000,
    env: { S3O_FUZZ_SCALE: process.env.S3O_FUZZ_SCALE ?? '100' },
  },
}));
// mergeConfig would append to the base's include (every test); the fuzz run is test/fuzz only.
fuzz.test = { ...fuzz.test, include: ['test/fuzz/**/*.test.ts'] };
export default fuzz;
