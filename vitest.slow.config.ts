import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { slowTestFiles } from './test/slow-files.js';

/** `npm run test:slow`: the long crash and soak scenarios `npm test` leaves out (test/slow-files.ts). */
// Each crash or soak scenario in a fresh worker process (npm test shares processes between files).
const slow = mergeConfig(base, defineConfig({ test: { testTimeout: 600_000, hookTimeout: 300_000, isolate: true } }));
// mergeConfig would append to the base's include and exclude: the slow run is these files only.
slow.test = { ...slow.test, include: slowTestFiles, exclude: [...configDefaults.exclude] };
export default slow;
