import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dependency map `npm run lint` enforces (.dependency-cruiser.mjs), run the way lint runs it on
 * a small tree with planted violations: each rule fires where it must and nowhere else.
 */

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** path → source. Imports end in .js and resolve to .ts through tsconfig, as in the real tree. */
const tree: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  // allowed
  'domain/objects/rules.ts': `import { z } from 'zod';\nimport { id } from '../ids.js';\nexport const rule = z.string().parse(id);`,
  'domain/ids.ts': `export const id = 'x';`,
  'infra/db/pool.ts': `export const pool = 'p';`,
  'infra/clock.ts': `import { id } from '../domain/ids.js';\nexport const clock = id;`,
  'services/objects/writer.ts': `import { pool } from '../../infra/db/pool.js';\nimport { rule } from '../../domain/objects/rules.js';\nexport const w = pool + rule;`,
  'ops/index.ts': `export { progress } from './cli/progress.js';`,
  'ops/cli/progress.ts': `import { w } from '../../services/objects/writer.js';\nexport const progress = w;`,
  'bench/fine.ts': `import { progress } from '../ops/index.js';\nimport { pool } from '../infra/db/pool.js';\nexport const b = progress + pool;`,
  'test/support/anything.ts': `import { progress } from '../../ops/cli/progress.js';\nexport const t = progress;`,
  // planted violations
  'domain/objects/deep.ts': `import { pool } from '../../infra/db/pool.js';\nexport const d = pool;`,
  'domain/clock.ts': `import { readFileSync } from 'node:fs';\nexport const c = readFileSync;`,
  'gateway/admin/routes.ts': `import type { Progress } from '../../ops/config/types.js';\nexport type R = Progress;`,
  'ops/config/types.ts': `export type Progress = number;`,
  'processes/worker.ts': `import { t } from '../test/support/anything.js';\nexport const p = t;`,
  'bench/internal.ts': `import { progress } from '../ops/cli/progress.js';\nexport const i = progress;`,
  'services/moves/a.ts': `import { b } from './b.js';\nexport const a = (): number => b();`,
  'services/moves/b.ts': `import { a } from './a.js';\nexport const b = (): number => a();`,
  'projections/left/one.ts': `import { two } from '../right/two.js';\nexport const one = two;`,
  'projections/right/three.ts': `import { four } from '../left/four.js';\nexport const three = four;`,
  'projections/right/two.ts': `export const two = 2;`,
  'projections/left/four.ts': `export const four = 4;`,
  'infra/missing.ts': `import { gone } from './gone.js';\nexport const m = gone;`,
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 's3o-dependency-map-'));
  for (const [path, source] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), source);
  }
  await symlink(join(repo, 'node_modules'), join(root, 'node_modules'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cli = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = join(repo, '.dependency-cruiser.mjs');

/** Runs depcruise on the planted tree with the given extra arguments; its exit code and output. */
async function depcruise(...extra: string[]): Promise<{ exitCode: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [cli, '--config', config, ...extra, '.'], { cwd: root, maxBuffer: 1 << 24 });
    return { exitCode: 0, stdout };
  } catch (e) {
    const failed = e as { code: number; stdout: string };
    return { exitCode: failed.code, stdout: failed.stdout };
  }
}

describe('the dependency map lint enforces', () => {
  it('fails on each planted violation, at any folder depth, and passes the allowed imports', async () => {
    // as lint runs it (its exit code fails the lint), and as JSON to see which rules fired where
    const [asLint, asJson] = await Promise.all([depcruise(), depcruise('--output-type', 'json')]);
    expect(asLint.exitCode).not.toBe(0);
    const violations = (JSON.parse(asJson.stdout) as { summary: { violations: Violation[] } }).summary.violations;
    const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual([
      'bench-uses-the-ops-entry: bench/internal.ts -> ops/cli/progress.ts',
      'domain-imports-only-below: domain/objects/deep.ts -> infra/db/pool.ts',
      'domain-is-pure: domain/clock.ts -> fs',
      'gateway-imports-only-below: gateway/admin/routes.ts -> ops/config/types.ts',
      'no-file-cycles: services/moves/a.ts -> services/moves/b.ts',
      'no-folder-cycles: projections/left -> projections/right',
      'no-folder-cycles: projections/right -> projections/left',
      'processes-imports-only-below: processes/worker.ts -> test/support/anything.ts',
      'resolvable: infra/missing.ts -> ./gone.js',
    ]);
  }, 60_000);
});
