// Makes `npm start`, `npm test` and `npm run bench` work on a fresh clone with only Node.js:
// installs dependencies when node_modules is missing or older than package-lock.json, and
// builds dist/ when any source file is newer than the last build.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args) => execFileSync(npm, args, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

const installedMarker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installedMarker) || mtime(installedMarker) < mtime(join(root, 'package-lock.json'))) {
  console.log('installing dependencies (npm ci)…');
  run(['ci', '--no-audit', '--no-fund']);
}

const sourceDirs = ['domain', 'infra', 'projections', 'services', 'gateway', 'processes', 'ops', 'bench'];
// Written by runs, not source: must not trigger a rebuild.
const ignored = new Set([join(root, 'bench', 'results')]);
function newest(dir) {
  let latest = 0;
  if (!existsSync(dir) || ignored.has(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (ignored.has(p)) continue;
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return latest;
}
const builtMarker = join(root, 'dist', '.built');
const sources = Math.max(...sourceDirs.map((d) => newest(join(root, d))), mtime(join(root, 'tsconfig.json')), mtime(join(root, 'tsconfig.build.json')));
if (mtime(builtMarker) < sources) {
  console.log('building…');
  run(['run', 'build']);
}
