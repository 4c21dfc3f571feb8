// Copies the non-TypeScript files the compiled code loads at run time (SQL migrations, the
// s3rver child script) next to their compiled modules in dist/, then marks the build done.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const dirs = ['infra', 'ops/demo'];
const assets = /\.(sql|mjs)$/;

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (assets.test(entry.name)) {
      const target = join(root, 'dist', relative(root, p));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(p, target);
    }
  }
}
for (const d of dirs) walk(join(root, d));
writeFileSync(join(root, 'dist', '.built'), new Date().toISOString());
