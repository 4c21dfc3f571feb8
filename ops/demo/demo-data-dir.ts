import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** Where the zero-setup defaults keep PostgreSQL's data when root's data directory is out of its account's reach. */
const RELOCATED_ROOT = '/var/lib/s3o/postgres';

/**
 * The embedded PostgreSQL data directory of the zero-setup defaults: `<dataRoot>/postgres`.
 * As root, PostgreSQL runs as an unprivileged account; when that account could not pass through
 * a directory on the way there (a checkout under /root, or in a 0700 temporary directory), the
 * data lives instead under /var/lib/s3o, in a directory named after `dataRoot` so every start
 * and every CLI command from the same place finds the same database. A configured
 * `database.path` is never moved: it fails with the fix instead.
 */
export async function defaultPostgresDataDir(dataRoot: string): Promise<string> {
  const root = resolve(dataRoot);
  const wanted = join(root, 'postgres');
  if (process.getuid?.() !== 0 || (await othersCanPassThrough(root))) return wanted;
  const tag = createHash('sha256').update(root).digest('hex').slice(0, 12);
  return join(RELOCATED_ROOT, `${basename(dirname(root)) || 'root'}-${tag}`);
}

/** Whether every existing directory from `/` down to `dir` lets others through (o+x). */
async function othersCanPassThrough(dir: string): Promise<boolean> {
  for (let current = dir; ; current = dirname(current)) {
    const mode = await stat(current).then((s) => s.mode, () => undefined);
    if (mode !== undefined && (mode & 0o001) === 0) return false;
    if (current === dirname(current)) return true;
  }
}
