// Copies the non-TypeScript files the compiled code loads at run time (SQL migrations, the
// s3rver child script, the dashboard's stylesheet and script) next to their compiled modules in
// dist/, then marks the build done.
// Copies left from an earlier build whose source is gone are removed first: the migration
// runner reads whole folders.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const dirs = ['infra', 'projections', 'ops/demo'];
const assets = /\.(sql|mjs)$/;

function walk(dir, visit) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, visit);
    else if (assets.test(entry.name)) visit(p);
  }
}
// The dashboard's files are all of gateway/ui/assets/ (its .js is no compiled module).
const uiAssets = join(root, 'dist', 'gateway', 'ui', 'assets');
rmSync(uiAssets, { recursive: true, force: true });
mkdirSync(uiAssets, { recursive: true });
for (const name of readdirSync(join(root, 'gateway', 'ui', 'assets'))) copyFileSync(join(root, 'gateway', 'ui', 'assets', name), join(uiAssets, name));
for (const d of dirs) walk(join(root, 'dist', d), (p) => rmSync(p));
for (const d of dirs) {
  walk(join(root, d), (p) => {
    const target = join(root, 'dist', relative(root, p));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(p, target);
  });
}
writeFileSync(join(root, 'dist', '.built'), new Date().toISOString());
