#!/usr/bin/env node
// `s3o` as `npx s3o` finds it in a checkout: npm ci links this workspace's bin into
// node_modules/.bin, and npx runs that directly (a bin of the root package itself would be
// installed into npx's cache on every call, and never linked if dist/ was not built yet).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const main = new URL('../../dist/ops/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('s3o is not built yet: run `npm run build` in the checkout (npm start and npm test build it too)\n');
  process.exit(1);
}
await import(main.href);
